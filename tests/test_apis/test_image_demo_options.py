"""The image demo's input and picture options on real frames: --bit-depth
on a 14-bit frame, --show-scores and --titles, and --tile on a config that
keeps frames at their size."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from bafenet.apis import init_detector
from bafenet.visualization.sky_det_visualizer import BAND_HEIGHT
from tests.conftest import REPO_ROOT
from tests.tiny_configs import tiny_bafenet_config

FRAME = 'Misc_199'
DEMO = REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'


def image_demo(*args):
    return subprocess.run(
        [sys.executable, 'tools/demo/image_demo.py', *map(str, args)],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        capture_output=True,
        text=True)


@pytest.fixture(scope='module')
def model_files(real_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp('model')
    cfg = tiny_bafenet_config(real_root)
    torch.manual_seed(0)
    model = init_detector(cfg)
    cfg.dump(str(folder / 'tiny.py'))
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=model.dataset_meta)), folder / 'tiny.pth')
    return folder / 'tiny.py', folder / 'tiny.pth'


def test_bit_depth_scores_and_titles(real_root, model_files, tmp_path):
    config, checkpoint = model_files
    gray = cv2.imread(
        str(real_root / 'PNGImages' / f'{FRAME}.png'), cv2.IMREAD_UNCHANGED)
    frames = tmp_path / 'frames'
    frames.mkdir()
    cv2.imwrite(str(frames / 'eight.png'), gray)
    cv2.imwrite(
        str(frames / 'fourteen.png'),
        np.round(gray * (16383 / 255)).astype(np.uint16))
    out = tmp_path / 'out'
    run = image_demo(frames, config, '--weights', checkpoint, '--out-dir',
                     out, '--bit-depth', '14', '--show-scores', '--titles',
                     '--pred-score-thr', '0.2')
    assert run.returncode == 0, run.stderr
    eight, fourteen = (json.loads((out / 'preds' / f'{name}.json').read_text())
                       for name in ('eight', 'fourteen'))
    assert eight['scores'] == fourteen['scores']
    assert eight['bboxes'] == fourteen['bboxes']
    picture = cv2.imread(str(out / 'vis' / 'eight.png'))
    assert picture.shape == (gray.shape[0] + 2 * BAND_HEIGHT,
                             gray.shape[1], 3)
    # Without the option, the 14-bit frame reads dark, and the run says so.
    dark = image_demo(frames / 'fourteen.png', config, '--weights',
                      checkpoint, '--out-dir', tmp_path / 'dark')
    assert dark.returncode == 0, dark.stderr
    assert 'DarkFrameWarning' in dark.stderr
    assert 'fourteen.png' in dark.stderr


def test_tile_without_a_size_names_the_option(real_root, tmp_path):
    frame = real_root / 'PNGImages' / f'{FRAME}.png'
    run = image_demo(frame, DEMO, '--tile', '--out-dir', tmp_path)
    assert run.returncode != 0
    assert '--tile-size WIDTH HEIGHT' in run.stderr
    assert 'Traceback' not in run.stderr

"""tools/demo/image_demo.py takes URLs (as its help says): one that cannot
be read (here a host under ``.invalid``, which never resolves, so the test
needs no network) is that input's error, and the other inputs go on."""
import importlib.util
import shutil
import subprocess
import sys

import torch
from mmengine.config import Config

from bafenet.registry import MODELS
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / 'tools/demo/image_demo.py'
URL = 'http://bafenet-test.invalid/PNGImages/Misc_1.png'

#: BAFE-Net-R18 without the ImageNet download.
CHILD_CONFIG = """
_base_ = '{base}'
model = dict(backbone=dict(init_cfg=None))
"""


def load_demo():
    spec = importlib.util.spec_from_file_location('image_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_expand_inputs_keeps_urls_beside_folders(real_root, tmp_path):
    ids = (real_root / 'Splits/mini_test.txt').read_text().split()[:2]
    for img_id in ids:
        shutil.copy(real_root / 'PNGImages' / f'{img_id}.png', tmp_path)
    files, errors = load_demo().expand_inputs([URL, str(tmp_path)])
    assert files == [URL] + [str(tmp_path / f'{i}.png') for i in sorted(ids)]
    assert errors == []


def test_an_unreachable_url_is_reported_and_the_rest_goes_on(
        real_root, tmp_path):
    config = tmp_path / 'bafenet_r18.py'
    config.write_text(
        CHILD_CONFIG.format(
            base=REPO_ROOT /
            'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'))
    cfg = Config.fromfile(config)
    weights = tmp_path / 'initial.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), weights)
    img_id = (real_root / 'Splits/mini_test.txt').read_text().split()[0]
    image = real_root / 'PNGImages' / f'{img_id}.png'
    out_dir = tmp_path / 'out'
    proc = subprocess.run([
        sys.executable, DEMO, URL, image, config, '--weights', weights,
        '--out-dir', out_dir
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert '1 of 2 images done' in proc.stdout
    assert f'1 input(s) failed:\n{URL}: URLError: ' in proc.stderr
    assert (out_dir / 'preds' / f'{img_id}.json').is_file()

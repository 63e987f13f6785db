"""Models of mask-dataset configs on an image with nothing beside it: the
inference pipeline drops the annotation loaders by type."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config

from bafenet.apis import SkyDetInferencer, inference_detector, init_detector
from bafenet.apis.inference_pipeline import (inference_pipeline_cfg,
                                             loads_annotations)
from bafenet.apis.cli import tiled_test_config
from tests.conftest import REPO_ROOT
from tests.tiny_configs import tiny_bafenet_config

FRAME = 'Misc_199'
DEMO = REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'


@pytest.fixture(scope='module')
def mask_config(real_root):
    """The tiny BAFE-Net with DenseSIRST-with-masks as its test data (the
    test pipeline of every mask-dataset config loads target masks)."""
    cfg = tiny_bafenet_config(real_root)
    masks = Config.fromfile(
        str(REPO_ROOT / 'configs/_base_/datasets/densesirst-masks.py'))
    cfg.test_dataloader = masks.test_dataloader
    cfg.test_dataloader.dataset.data_root = str(real_root)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = (128, 128)
    assert any(
        step.get('with_target_mask')
        for step in cfg.test_dataloader.dataset.pipeline)
    return cfg


@pytest.fixture(scope='module')
def bare_image(real_root, tmp_path_factory):
    """A real frame copied alone into a folder."""
    folder = tmp_path_factory.mktemp('bare')
    shutil.copy(real_root / 'PNGImages' / f'{FRAME}.png', folder)
    return folder / f'{FRAME}.png'


def test_annotation_loaders_are_found_by_type():
    assert loads_annotations(dict(type='LoadDetSegAnnotations'))
    assert loads_annotations(dict(type='mmdet.LoadAnnotations'))
    assert loads_annotations(dict(type='LoadAnnotations'))
    assert not loads_annotations(dict(type='LoadImageFromFile'))
    assert not loads_annotations(dict(type='ScaleBitDepth'))
    with pytest.raises(KeyError, match='NoSuchStep'):
        loads_annotations(dict(type='NoSuchStep'))


def test_mask_model_runs_on_a_bare_image(mask_config, bare_image, tmp_path):
    pipeline = inference_pipeline_cfg(mask_config)
    assert [s['type'] for s in pipeline] == [
        'LoadImageFromFile', 'ScaleBitDepth', 'Resize', 'PackDetSegInputs'
    ]
    # The test pipeline as it is fails there, naming the image.
    with pytest.raises(ValueError, match=f'{FRAME}.png: no target mask'):
        Compose(mask_config.test_dataloader.dataset.pipeline)(
            dict(img_path=str(bare_image), img_id=0, mask_path=None))
    torch.manual_seed(0)
    model = init_detector(mask_config)
    sample = inference_detector(model, str(bare_image))
    assert len(sample.pred_instances) > 0
    inferencer = SkyDetInferencer(mask_config, show_progress=False)
    inferencer.model.load_state_dict(model.state_dict())
    pred = inferencer(str(bare_image))['predictions'][0]
    np.testing.assert_allclose(
        pred['scores'], sample.pred_instances.scores, atol=1e-6)
    # The config itself keeps its mask loader.
    assert any(
        step.get('with_target_mask')
        for step in mask_config.test_dataloader.dataset.pipeline)

    config = tmp_path / 'mask_model.py'
    mask_config.dump(str(config))
    run = subprocess.run([
        sys.executable, 'tools/demo/image_demo.py',
        str(bare_image), str(config), '--out-dir',
        str(tmp_path / 'out')
    ],
                         cwd=REPO_ROOT,
                         env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / 'out' / 'preds' / f'{FRAME}.json').is_file()
    assert (tmp_path / 'out' / 'vis' / f'{FRAME}.png').is_file()


def test_tiling_a_native_size_config_names_tile_size(real_root):
    cfg = Config.fromfile(str(DEMO))
    with pytest.raises(ValueError, match='--tile-size WIDTH HEIGHT'):
        tiled_test_config(cfg)
    with pytest.raises(ValueError, match='--tile-size WIDTH HEIGHT'):
        SkyDetInferencer(cfg, tile=True, show_progress=False)
    tiled = tiled_test_config(cfg, tile_size=(128, 128))
    assert tiled.model.tile_size == (128, 128)

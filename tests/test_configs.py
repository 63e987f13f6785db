"""Every config parses, uses the bafenet scope and builds its model."""
import pytest
from mmengine.config import Config

from bafenet.registry import MODELS
from tests.conftest import REPO_ROOT

CONFIGS = sorted(
    p for p in (REPO_ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)


def test_there_are_configs():
    names = {p.name for p in CONFIGS}
    assert {'fcos_r18_fpn_20e_densesirst.py',
            'fcos_r50-caffe_fpn_20e_densesirst.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'bafenet'
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_classes == 1
    # the paper's P3-P5 (the original FCOS row adds P6 and P7); our
    # full-coverage configs add P2
    if 'fullcov' in path.name:
        assert model.bbox_head.strides == [4, 8, 16, 32]
    else:
        assert model.bbox_head.strides[:3] == [8, 16, 32]


def test_paper_schedule():
    cfg = Config.fromfile(
        REPO_ROOT / 'configs/fcos/fcos_r50-caffe_fpn_20e_densesirst.py')
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.optim_wrapper.optimizer == dict(
        type='SyncFreeDAdaptAdam', lr=1.0, weight_decay=0.05, decouple=True)
    assert cfg.train_dataloader.dataset.dataset.dataset.ann_file == \
        'Splits/trainval_v2.txt'
    assert cfg.test_dataloader.dataset.ann_file == 'Splits/test_v2.txt'
    assert cfg.test_evaluator.type == 'DenseSIRSTMetric'


def test_bafenet_on_masks_is_bafenet_with_the_mask_data():
    """configs/bafenet/bafenet_r18_fpn_20e_densesirst-masks.py: BAFE-Net's
    model and BAG-CP, densesirst-masks.py's data, pipelines and metric."""
    ours = Config.fromfile(REPO_ROOT / 'configs/bafenet/'
                           'bafenet_r18_fpn_20e_densesirst-masks.py')
    bafenet = Config.fromfile(
        REPO_ROOT / 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py')
    masks = Config.fromfile(
        REPO_ROOT / 'configs/_base_/datasets/densesirst-masks.py')
    assert ours.model == bafenet.model
    assert (ours.train_dataloader.dataset.pipeline ==
            bafenet.train_dataloader.dataset.pipeline)
    assert (ours.train_dataloader.dataset.dataset.dataset ==
            masks.train_dataloader.dataset.dataset.dataset)
    for key in ('test_dataloader', 'val_dataloader', 'test_evaluator'):
        assert ours[key] == masks[key], key

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
    # full coverage adds the stride-4 level P2
    expected = [4, 8, 16, 32] if 'fullcov' in path.name else [8, 16, 32]
    assert model.bbox_head.strides == expected


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

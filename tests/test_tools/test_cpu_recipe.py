"""Our CPU recipe (configs/cpu_recipe/): the honest protocol in its splits,
exact pixel boxes with the flip, and two real training steps that end with
a val_v2-style selection of the best checkpoint."""
import json

from mmengine.config import Config

from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test import run_tool

RECIPE = REPO_ROOT / ('configs/cpu_recipe/'
                      'bafenet-fullcov_r18-half_fpn_cpu2h_densesirst-train.py')
TRAINVAL = REPO_ROOT / (
    'configs/cpu_recipe/'
    'bafenet-fullcov_r18-half_fpn_cpu2h_densesirst-trainval.py')


def split(dataloader):
    dataset = dataloader.dataset
    while 'ann_file' not in dataset:
        dataset = dataset.dataset
    return dataset.ann_file, dataset.box_convention


def test_recipe_selects_on_val_and_tests_on_test():
    cfg = Config.fromfile(RECIPE)
    assert split(cfg.train_dataloader) == ('Splits/train_v2.txt', 'pixel')
    assert split(cfg.val_dataloader) == ('Splits/val_v2.txt', 'pixel')
    assert split(cfg.test_dataloader) == ('Splits/test_v2.txt', 'pixel')
    # all 256 test frames, never a subset
    assert cfg.test_dataloader.dataset.get('indices') is None
    assert cfg.default_hooks.checkpoint.save_best == 'mAP07'
    assert 'RandomFlip' in [t.type for t in cfg.train_pipeline]
    # trainval_v2 (768 frames to train_v2's 512): the same recipe and
    # number of steps, nothing selected on it
    full = Config.fromfile(TRAINVAL)
    assert split(full.train_dataloader) == ('Splits/trainval_v2.txt',
                                            'pixel')
    assert full.val_cfg is None and full.val_dataloader is None
    assert full.default_hooks.checkpoint.save_best is None
    assert full.model == cfg.model
    assert full.train_pipeline == cfg.train_pipeline
    assert full.train_cfg.max_epochs * 768 == cfg.train_cfg.max_epochs * 512
    for ours, theirs in zip(full.param_scheduler, cfg.param_scheduler):
        if ours.get('by_epoch'):
            assert ours.T_max == ours.end == full.train_cfg.max_epochs
            ours = dict(ours, T_max=theirs.T_max, end=theirs.end)
        assert ours == theirs
    assert full.test_dataloader == cfg.test_dataloader


def test_recipe_trains_and_keeps_the_best_checkpoint(real_root, tmp_path):
    config = tmp_path / 'recipe_tiny.py'
    config.write_text(f"""
_base_ = '{RECIPE}'
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(dataset=dict(
        ann_file='Splits/mini_trainval.txt'))))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='Splits/mini_test.txt'))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    work_dir = tmp_path / 'work'
    output = run_tool('tools/train.py', config, '--data-root', real_root,
                      '--work-dir', work_dir)
    assert 'Epoch(train) [1][2/2]' in output
    assert 'Epoch(val) [1][4/4]' in output
    assert list(work_dir.glob('best_mAP07_epoch_1.pth'))
    scalars = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    val = [json.loads(line) for line in scalars.splitlines()
           if '"iter"' not in line]
    assert len(val) == 1 and 0 <= val[0]['mAP07'] <= 1
    assert 'mAP07_s' in val[0]

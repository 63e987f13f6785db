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

#: One epoch of two real steps on the mini split, a checkpoint after it.
TINY_TRAINING = """
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(dataset=dict(
        ann_file='Splits/mini_trainval.txt'))))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""


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
{TINY_TRAINING}
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='Splits/mini_test.txt'))
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



def ablation(name):
    """The ablation config ``configs/cpu_recipe/ablations/{name}``."""
    return Config.fromfile(REPO_ROOT / 'configs/cpu_recipe/ablations' /
                           f'{name}_fpn_32e_densesirst-train.py')


def test_ablations_change_one_thing_each():
    """The ablation family: the recipe on 32 epochs, nothing selected; FCOS-
    Seg drops the towers' interaction, FCOS the sky branch too; the box
    variants drop the flip, then the pixel boxes; all else is the recipe's."""
    recipe = Config.fromfile(RECIPE)
    bafenet = ablation('bafenet-fullcov_r18-half')
    assert bafenet.model == recipe.model
    assert bafenet.train_dataloader == recipe.train_dataloader
    assert bafenet.test_dataloader == recipe.test_dataloader
    assert bafenet.val_cfg is None and bafenet.train_cfg.max_epochs == 32
    assert bafenet.default_hooks.checkpoint.save_best is None

    head = dict(bafenet.model.bbox_head)
    del head['exchange_cfg']
    fcos_seg = ablation('fcos-seg-fullcov_r18-half')
    assert fcos_seg.model.type == 'BAFENet'
    assert dict(fcos_seg.model.bbox_head) == dict(head, type='FCOSSegHead')
    del head['loss_seg'], head['sky_level']
    fcos = ablation('fcos-fullcov_r18-half')
    assert fcos.model.type == 'FCOS'
    assert dict(fcos.model.bbox_head) == dict(head, type='SyncFreeFCOSHead')
    for variant in (fcos_seg, fcos):
        assert variant.model.backbone == bafenet.model.backbone
        assert variant.model.neck == bafenet.model.neck
        assert variant.model.train_cfg == bafenet.model.train_cfg
        assert variant.train_dataloader == bafenet.train_dataloader
        assert variant.test_dataloader == bafenet.test_dataloader
        assert variant.param_scheduler == bafenet.param_scheduler
        assert variant.randomness == bafenet.randomness

    no_flip = ablation('bafenet-fullcov_r18-half_no-flip')
    voc = ablation('bafenet-fullcov_r18-half_voc-box_no-flip')
    assert no_flip.model == voc.model == bafenet.model
    assert no_flip.train_pipeline == [
        t for t in bafenet.train_pipeline if t.type != 'RandomFlip'
    ] == voc.train_pipeline != bafenet.train_pipeline
    assert split(no_flip.train_dataloader) == ('Splits/train_v2.txt',
                                               'pixel')
    assert split(voc.train_dataloader) == ('Splits/train_v2.txt', 'voc')
    assert split(voc.test_dataloader) == ('Splits/test_v2.txt', 'voc')
    assert voc.test_dataloader.dataset.get('indices') is None


def test_fcos_of_the_ablation_trains_and_tests(real_root, tmp_path):
    """The one ablation model that is not a BAFENet: two real steps, then
    the test split's metrics without a sky map."""
    config = tmp_path / 'fcos_tiny.py'
    config.write_text(f"""
_base_ = '{REPO_ROOT}/configs/cpu_recipe/ablations/fcos-fullcov_r18-half_fpn_32e_densesirst-train.py'
{TINY_TRAINING}
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='Splits/mini_test.txt'))
""")
    work_dir = tmp_path / 'work'
    output = run_tool('tools/train.py', config, '--data-root', real_root,
                      '--work-dir', work_dir)
    assert 'Epoch(train) [1][2/2]' in output
    output = run_tool('tools/test.py', config, work_dir / 'epoch_1.pth',
                      '--data-root', real_root, '--work-dir', work_dir)
    assert 'mAP07' in output and 'sky_iou' not in output.lower()

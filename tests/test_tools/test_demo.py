"""`make demo` (tools/run_demo.sh) end to end on generated data, shrunk to a
few iterations: it trains BAFE-Net, tests it on held-out images and reports
boxes and sky, and says which data and frames it scored."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from bafenet.testing import generate_synthetic_densesirst
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'
SYNTHETIC_CONFIG = (
    REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_synthetic.py')

#: 8 training crops, two iterations, the first 2 test frames.
TINY = [
    '--cfg-options', 'train_cfg.max_epochs=1',
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.dataset.times=1',
    'train_dataloader.dataset.dataset.dataset.indices=8',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'test_dataloader.dataset.indices=2'
]


def test_demo_config_shows_the_method():
    cfg = Config.fromfile(CONFIG)
    head = cfg.model.bbox_head
    # BAFE-Net with its sky branch and the full-coverage assignment
    assert cfg.model.type == 'BAFENet' and head.type == 'BAFEHead'
    assert head.strides[0] == 4
    assert cfg.model.train_cfg.assigner.fallback_points > 0
    # native resolution: crops around targets (and anywhere), no resize and
    # no flip (docs/method.md, "Flips"), whole test frames
    steps = [step.type for step in
             cfg.train_dataloader.dataset.dataset.dataset.pipeline]
    assert steps == ['LoadImageFromFile', 'ScaleBitDepth',
                     'LoadDetSegAnnotations', 'RandomChoice']
    crops = cfg.train_dataloader.dataset.dataset.dataset.pipeline[3]
    assert [[t.type for t in branch] for branch in crops.transforms] == [
        ['RandomTargetCrop'], ['RandomCrop']]
    resize = [step for step in cfg.test_dataloader.dataset.pipeline
              if step.type == 'Resize']
    assert [r.scale_factor for r in resize] == [1.0]
    # held-out evaluation: disjoint splits; the test alone evaluates
    train = cfg.train_dataloader.dataset.dataset.dataset.ann_file
    assert (train, cfg.test_dataloader.dataset.ann_file) == (
        'Splits/train_v2.txt', 'Splits/test_v2.txt')
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    # the weights tested are the EMA's, convolutions run NHWC
    hooks = [hook.type for hook in cfg.custom_hooks]
    assert hooks == ['ChannelsLastHook', 'EMAHook']


def test_synthetic_config_is_the_demo_on_more_steps():
    demo, synthetic = Config.fromfile(CONFIG), Config.fromfile(
        SYNTHETIC_CONFIG)
    # the same method, pipelines and schedule
    for key in ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg',
                'custom_hooks', 'randomness'):
        assert synthetic[key] == demo[key], key
    train, demo_train = (cfg.train_dataloader.dataset.dataset
                         for cfg in (synthetic, demo))
    assert train.dataset == demo_train.dataset
    # 64 train_v2 frames seen 4 times an epoch: 448 iterations
    assert (train.times, demo_train.times) == (4, 1)
    assert 64 * train.times // synthetic.train_dataloader.batch_size * \
        synthetic.train_cfg.max_epochs == 448
    # every held-out frame is scored, where the real demo scores 32
    assert synthetic.test_dataloader.dataset.indices is None
    assert demo.test_dataloader.dataset.indices == 32
    assert synthetic.test_dataloader.dataset.ann_file == 'Splits/test_v2.txt'


@pytest.mark.parametrize('synthetic', [True, False],
                         ids=['synthetic', 'as-real'])
def test_run_demo_on_generated_data(tmp_path, synthetic):
    data_root = tmp_path / 'SIRSTdevkit'
    splits = generate_synthetic_densesirst(str(data_root), num_images=16)
    if not synthetic:  # the same frames, taken for the real dataset
        (data_root / 'synthetic.json').unlink()
    work_dir = tmp_path / 'work'
    env = dict(
        os.environ,
        VENV=str(Path(sys.executable).parents[1]),
        DATA_ROOT=str(data_root),
        WORK_DIR=str(work_dir))
    proc = subprocess.run(['bash', 'tools/run_demo.sh', *TINY],
                          cwd=REPO_ROOT,
                          env=env,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    config = SYNTHETIC_CONFIG if synthetic else CONFIG
    assert f'[demo] config: {config.relative_to(REPO_ROOT)}' in output
    report = json.loads((work_dir / 'metrics.json').read_text())
    split = report['split']
    assert Path(split) == data_root / 'Splits/test_v2.txt'
    assert report['config'] == str(config.relative_to(REPO_ROOT))
    # the last lines name the data, the frames scored and the figures
    data = (f'synthetic frames at {data_root} (see its synthetic.json)'
            if synthetic else f'real DenseSIRST at {data_root}')
    m = report['metrics']
    assert proc.stdout.splitlines()[-3:] == [
        f'[demo] data: {data}',
        f'[demo] scored on the first 2 of the 4 frames of {split}, none of '
        'them trained on:',
        '[demo]   ' + ', '.join(
            f'{k} {m[k]:.4f}' for k in ('mAP07', 'mAP12', 'F1', 'best_F1',
                                        'Pd', 'Fa_per_image', 'sky_IoU'))
    ]
    pictures = list(work_dir.glob('*/predictions/*.png'))
    assert sorted(p.stem for p in pictures) == sorted(
        splits['test_v2'][:2])

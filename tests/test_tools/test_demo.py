"""`make demo` (tools/run_demo.sh) end to end on generated data, shrunk to a
few iterations: it trains BAFE-Net, tests it on held-out images and reports
boxes and sky."""
import json
import os
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

from bafenet.testing import generate_synthetic_densesirst
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'

#: 8 training crops, two iterations, 4 test frames.
TINY = [
    '--cfg-options', 'train_cfg.max_epochs=1',
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.dataset.times=1',
    'train_dataloader.dataset.dataset.dataset.indices=8',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'test_dataloader.dataset.indices=4'
]


def test_demo_config_shows_the_method():
    cfg = Config.fromfile(CONFIG)
    head = cfg.model.bbox_head
    # BAFE-Net with its sky branch and the full-coverage assignment
    assert cfg.model.type == 'BAFENet' and head.type == 'BAFEHead'
    assert head.strides[0] == 4 and head.fallback_points > 0
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


def test_run_demo_on_generated_data(tmp_path):
    data_root = tmp_path / 'SIRSTdevkit'
    splits = generate_synthetic_densesirst(str(data_root), num_images=16)
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
    assert f'[demo] data: {data_root} (synthetic' in output
    assert '[demo] on 4 held-out images of' in output
    report = json.loads((work_dir / 'metrics.json').read_text())
    assert report['split'].endswith('Splits/test_v2.txt')
    # boxes and sky were evaluated
    assert {'mAP07', 'sky_IoU'} <= set(report['metrics'])
    assert f"mAP07 {report['metrics']['mAP07']:.4f}" in output
    pictures = list(work_dir.glob('*/predictions/*.png'))
    assert sorted(p.stem for p in pictures) == sorted(
        splits['test_v2'][:4])

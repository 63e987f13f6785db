"""Interruption: a run killed with SIGKILL resumes from its last checkpoint
and logs the same losses as an uninterrupted run; truncated checkpoints are
named and skipped."""
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from bafenet.utils import CheckpointError, find_resumable_checkpoint
from tests.conftest import REPO_ROOT

#: FCOS-R18 from random weights with a quarter of the backbone channels and
#: a 64-channel neck and head, at 256x256 on 4 real images, by iterations,
#: with a checkpoint every 2 iterations and the raw losses of every iteration
#: logged.
CHILD_CONFIG = """
_base_ = '{base}'
model = dict(
    backbone=dict(base_channels=16, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(
        in_channels=64,
        feat_channels=64,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))
img_scale = (256, 256)
train_pipeline = _base_.train_pipeline
train_pipeline[3].scale = img_scale
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset=dict(dataset=dict(
        ann_file='Splits/mini_trainval.txt', indices=None,
        pipeline=train_pipeline))))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={max_iters},
                 val_interval=1000)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=4)
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=2,
                    save_best=None))
log_processor = dict(by_epoch=False, window_size=1)
randomness = dict(seed=0, deterministic=True)
"""

MAX_ITERS = 6


def train_command(config, real_root, work_dir, *extra):
    return [
        sys.executable, 'tools/train.py', str(config), '--data-root',
        str(real_root), '--work-dir',
        str(work_dir), *map(str, extra)
    ]


def run_train(*args):
    proc = subprocess.run(
        train_command(*args), cwd=REPO_ROOT, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def logged_losses(run_dir):
    """``{iter: {loss name: value}}`` logged by one run (a timestamped
    folder)."""
    losses = {}
    for line in (run_dir / 'vis_data/scalars.json').read_text().splitlines():
        record = json.loads(line)
        if 'loss' in record:
            losses[record['iter']] = {
                key: value
                for key, value in record.items() if key.startswith('loss')
            }
    return losses


def all_logged_losses(work_dir):
    """The losses of every run in ``work_dir``; later runs win."""
    losses = {}
    for run_dir in sorted(p for p in work_dir.iterdir() if p.is_dir()):
        losses.update(logged_losses(run_dir))
    return losses


def last_checkpoint(work_dir):
    path = work_dir / 'last_checkpoint'
    return path.read_text().strip() if path.is_file() else ''


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp('resume') / 'fcos_r18_iters.py'
    path.write_text(
        CHILD_CONFIG.format(
            base=REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
            max_iters=MAX_ITERS))
    return path


@pytest.fixture(scope='module')
def reference(config, real_root):
    """The losses of an uninterrupted run of MAX_ITERS iterations."""
    work_dir = config.parent / 'reference'
    run_train(config, real_root, work_dir)
    losses = all_logged_losses(work_dir)
    assert sorted(losses) == list(range(1, MAX_ITERS + 1))
    return losses


@pytest.fixture(scope='module')
def killed(config, real_root):
    """A run killed with SIGKILL after its iteration-2 checkpoint."""
    work_dir = config.parent / 'killed'
    # Many more iterations than the others, so that it is killed mid-run;
    # max_iters changes neither the data order nor the schedule.
    proc = subprocess.Popen(
        train_command(config, real_root, work_dir, '--cfg-options',
                      'train_cfg.max_iters=1000'),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not last_checkpoint(work_dir).endswith('iter_2.pth'):
        assert proc.poll() is None, 'the run ended before iteration 2'
        assert time.monotonic() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    return work_dir


def test_resume_after_sigkill_repeats_the_losses(reference, killed, config,
                                                 real_root):
    killed_at = max(all_logged_losses(killed))
    assert 2 <= killed_at < MAX_ITERS
    resumed_from = int(last_checkpoint(killed).split('iter_')[1][:-4])
    output = run_train(config, real_root, killed, '--resume')
    assert f'resumed epoch: 0, iter: {resumed_from}' in output
    losses = all_logged_losses(killed)
    assert sorted(losses) == list(range(1, MAX_ITERS + 1))
    for it in range(resumed_from + 1, MAX_ITERS + 1):
        assert losses[it] == pytest.approx(reference[it], rel=1e-6), it
    # Not a trivial comparison: the boxes are learnt from.
    assert all(losses[it]['loss_bbox'] > 0 for it in losses)


def test_resume_skips_a_truncated_latest_checkpoint(reference, killed,
                                                    config, real_root):
    """The latest checkpoint cut in half: --resume warns, takes the one
    before, and again repeats the uninterrupted losses."""
    latest = killed / f'iter_{MAX_ITERS}.pth'
    assert last_checkpoint(killed) == str(latest)
    latest.write_bytes(latest.read_bytes()[:latest.stat().st_size // 2])
    output = run_train(config, real_root, killed, '--resume')
    assert f'not resuming from {latest}' in output
    assert 'truncated or corrupt checkpoint' in output
    assert f'resumed epoch: 0, iter: {MAX_ITERS - 2}' in output
    run_dirs = sorted(p for p in killed.iterdir() if p.is_dir())
    last_run = logged_losses(run_dirs[-1])
    assert sorted(last_run) == [MAX_ITERS - 1, MAX_ITERS]
    for it, losses in last_run.items():
        assert losses == pytest.approx(reference[it], rel=1e-6), it


def save_tiny_checkpoint(path, it):
    torch.save({'meta': {'iter': it}, 'state_dict': {'w': torch.ones(64)}},
               path)


def truncate(path):
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def test_load_names_a_truncated_file(tmp_path):
    path = tmp_path / 'epoch_3.pth'
    save_tiny_checkpoint(path, 3)
    truncate(path)
    # _load_checkpoint is what load_from and --resume PATH go through.
    with pytest.raises(CheckpointError,
                       match=f'{path}: truncated or corrupt checkpoint'):
        _load_checkpoint(str(path), map_location='cpu')


def test_find_resumable_checkpoint_falls_back_or_says_what_to_do(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) is None
    older, newer = tmp_path / 'epoch_1.pth', tmp_path / 'epoch_2.pth'
    save_tiny_checkpoint(older, 1)
    save_tiny_checkpoint(newer, 2)
    os.utime(older, (1, 1))
    (tmp_path / 'last_checkpoint').write_text(str(newer))
    assert find_resumable_checkpoint(str(tmp_path)) == str(newer)

    truncate(newer)
    with pytest.warns(UserWarning, match=f'not resuming from {newer}'):
        assert find_resumable_checkpoint(str(tmp_path)) == str(older)

    truncate(older)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(CheckpointError,
                           match='without --resume') as info:
            find_resumable_checkpoint(str(tmp_path))
    assert str(older) in str(info.value) and str(newer) in str(info.value)

"""tools/train.py --resume: a checkpoint that does not cover the model is
refused (as by tools/test.py) unless --allow-partial-checkpoint, and a
moved or copied work directory resumes from its own checkpoints, saying
which.

The checkpoints are complete resume checkpoints (weights, meta, message
hub) of the tiny iteration-based FCOS of ``test_resume.py``, at its last
iteration, so a resumed run trains no further step.
"""
import shutil
import subprocess
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from bafenet.registry import MODELS
from bafenet.utils import CheckpointError, find_resumable_checkpoint
from tests.conftest import REPO_ROOT
from tests.test_tools.test_resume import (CHILD_CONFIG, MAX_ITERS,
                                          save_tiny_checkpoint, train_command)


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp('resume_checks') / 'fcos_r18_iters.py'
    path.write_text(
        CHILD_CONFIG.format(
            base=REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
            max_iters=MAX_ITERS))
    return path


def save_resume_checkpoint(config, path, drop=()):
    """A checkpoint of ``config``'s model at its last iteration, without
    the weights whose names start with one of ``drop``."""
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    state_dict = {
        k: v
        for k, v in model.state_dict().items() if not k.startswith(drop)
    }
    torch.save(
        dict(
            meta=dict(epoch=0, iter=MAX_ITERS),
            state_dict=state_dict,
            message_hub=MessageHub.get_instance('resume_checks').state_dict()),
        path)


def train(config, real_root, work_dir, *extra):
    proc = subprocess.run(
        train_command(config, real_root, work_dir, *extra),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_resume_refuses_a_checkpoint_missing_half_the_head(
        config, real_root, tmp_path):
    path = tmp_path / 'partial.pth'
    # The regression tower and predictor, centre-ness and scales.
    save_resume_checkpoint(
        config, path, drop=('bbox_head.reg_convs', 'bbox_head.conv_reg',
                            'bbox_head.conv_centerness', 'bbox_head.scales'))
    code, output = train(config, real_root, tmp_path / 'work', '--resume',
                         path)
    assert code != 0
    assert f'CheckpointError: {path} does not cover the model:' in output, \
        output[-3000:]
    assert 'model key(s) missing from the checkpoint: bbox_head.' in output
    assert '--allow-partial-checkpoint' in output
    assert 'resumed epoch' not in output

    code, output = train(config, real_root, tmp_path / 'work', '--resume',
                         path, '--allow-partial-checkpoint')
    assert code == 0, output[-3000:]
    assert f'{path} does not cover the model:' in output
    assert 'allow_partial is set' in output
    assert f'resumed epoch: 0, iter: {MAX_ITERS}' in output


def moved_and_copied(config, tmp_path):
    """A work directory with two complete checkpoints and mmengine's
    ``last_checkpoint`` naming the newer by its absolute path, then moved;
    and a copy of it made before the move, whose checkpoints differ."""
    old = tmp_path / 'old'
    old.mkdir()
    for it in (MAX_ITERS - 2, MAX_ITERS):
        save_resume_checkpoint(config, old / f'iter_{it}.pth')
    (old / 'last_checkpoint').write_text(str(old / f'iter_{MAX_ITERS}.pth'))
    copied = tmp_path / 'copied'
    shutil.copytree(old, copied)
    moved = tmp_path / 'moved'
    shutil.move(old, moved)
    return moved, copied


@pytest.mark.parametrize('option', [['--resume'],
                                    ['--cfg-options', 'resume=True']])
def test_a_moved_work_dir_resumes_from_its_own_checkpoint(
        option, config, real_root, tmp_path):
    """By --resume, or by resume=True in the config (which mmengine would
    resolve from the stale last_checkpoint)."""
    moved, _ = moved_and_copied(config, tmp_path)
    code, output = train(config, real_root, moved, *option)
    assert code == 0, output[-3000:]
    assert f'resuming from {moved}/iter_{MAX_ITERS}.pth' in output
    assert f'resumed epoch: 0, iter: {MAX_ITERS}' in output


def test_a_copied_work_dir_resumes_from_the_copy(config, tmp_path):
    moved, copied = moved_and_copied(config, tmp_path)
    # The folder the copy's last_checkpoint names exists again: the copy
    # must still take its own file.
    shutil.copytree(moved, tmp_path / 'old')
    assert (copied / 'last_checkpoint').read_text().startswith(
        str(tmp_path / 'old'))
    assert find_resumable_checkpoint(str(copied)) == str(
        copied / f'iter_{MAX_ITERS}.pth')


def test_checkpoints_outside_the_work_dir_are_named(tmp_path):
    """mmengine's CheckpointHook(out_dir=...) saves elsewhere: the file
    ``last_checkpoint`` names is taken, with a warning, when the work
    directory has none of that name."""
    work_dir, out_dir = tmp_path / 'work', tmp_path / 'out'
    work_dir.mkdir()
    out_dir.mkdir()
    elsewhere = out_dir / 'epoch_2.pth'
    save_tiny_checkpoint(elsewhere, 2)
    save_tiny_checkpoint(out_dir / 'epoch_1.pth', 1)
    (work_dir / 'last_checkpoint').write_text(str(elsewhere))
    with pytest.warns(UserWarning, match=f'outside the work directory'):
        assert find_resumable_checkpoint(str(work_dir)) == str(elsewhere)


def test_the_highest_iteration_comes_first_after_a_copy(tmp_path):
    """Without last_checkpoint, the newest is the highest iteration, not
    the last file a copy wrote."""
    for it in (10, 2):
        save_tiny_checkpoint(tmp_path / f'iter_{it}.pth', it)
    assert find_resumable_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_10.pth')
    (tmp_path / 'iter_10.pth').write_bytes(b'cut')
    with pytest.warns(UserWarning, match='not resuming from'):
        assert find_resumable_checkpoint(str(tmp_path)) == str(
            tmp_path / 'iter_2.pth')
    (tmp_path / 'iter_2.pth').write_bytes(b'cut')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(CheckpointError,
                           match=f'no checkpoint of {tmp_path} is complete'):
            find_resumable_checkpoint(str(tmp_path))

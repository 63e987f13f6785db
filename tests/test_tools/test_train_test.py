"""End to end on real images: tools/train.py writes a checkpoint that
tools/test.py evaluates and that --resume continues from."""
import json
import os
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO_ROOT

CHILD_CONFIG = """
_base_ = '{base}'
model = dict(backbone=dict(init_cfg=None))
img_scale = (256, 256)
train_pipeline = _base_.train_pipeline
train_pipeline[2].scale = img_scale
test_pipeline = _base_.test_pipeline
test_pipeline[1].scale = img_scale
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(times=1, dataset=dict(
        ann_file='Splits/mini_trainval.txt', pipeline=train_pipeline))))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='Splits/mini_test.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
"""


def run_tool(*args):
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def trained(real_root, tmp_path_factory):
    """FCOS-R18 trained one epoch (2 iterations) on 4 real images."""
    tmp = tmp_path_factory.mktemp('e2e')
    config = tmp / 'fcos_r18_tiny.py'
    config.write_text(
        CHILD_CONFIG.format(
            base=REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py'))
    work_dir = tmp / 'work'
    run_tool('tools/train.py', config, '--data-root', real_root,
             '--work-dir', work_dir)
    return config, work_dir


def test_train_writes_a_checkpoint(trained):
    config, work_dir = trained
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith(
        'epoch_1.pth')
    # torch >= 2.6 loads it with weights_only=True thanks to the allow-list.
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 2
    assert 'message_hub' in state and 'optimizer' in state


def test_test_tool_evaluates_the_checkpoint(trained, real_root):
    config, work_dir = trained
    out_dir = work_dir / 'test'
    output = run_tool('tools/test.py', config, work_dir / 'epoch_1.pth',
                      '--data-root', real_root, '--work-dir', out_dir,
                      '--show-dir', 'vis')
    assert 'voc07/mAP' in output and 'voc12/mAP' in output
    report = json.loads((out_dir / 'metrics.json').read_text())
    assert report['split'].endswith('Splits/mini_test.txt')
    assert report['checkpoint'].endswith('epoch_1.pth')
    for key in ('voc07/mAP', 'voc12/mAP'):
        assert 0.0 <= report['metrics'][key] <= 1.0
    pictures = list(out_dir.glob('*/vis/*.png'))
    assert len(pictures) == 4


def test_resume_continues_from_the_checkpoint(trained, real_root):
    config, work_dir = trained
    output = run_tool('tools/train.py', config, '--data-root', real_root,
                      '--work-dir', work_dir, '--resume',
                      '--cfg-options', 'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1, iter: 2' in output
    state = torch.load(work_dir / 'epoch_2.pth', map_location='cpu',
                       weights_only=True)
    assert state['meta']['epoch'] == 2 and state['meta']['iter'] == 4


def test_dist_scripts_run_two_processes_on_cpu(trained, real_root, tmp_path):
    """tools/dist_train.sh and dist_test.sh with 2 gloo processes: each rank
    trains on its own half of the 4 images (1 iteration instead of 2)."""
    config, _ = trained
    env = dict(os.environ, PYTHON=sys.executable,
               PORT=str(29500 + os.getpid() % 1000))
    work_dir = tmp_path / 'dist'

    def run_script(*args):
        proc = subprocess.run(['bash', *map(str, args)], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-4000:]
        return output

    output = run_script('tools/dist_train.sh', config, 2, '--data-root',
                        real_root, '--work-dir', work_dir)
    assert 'Distributed training: True' in output
    assert 'Epoch(train) [1][1/1]' in output
    output = run_script('tools/dist_test.sh', config,
                        work_dir / 'epoch_1.pth', 2, '--data-root', real_root,
                        '--work-dir', work_dir / 'test')
    assert 'voc07/mAP' in output
    assert (work_dir / 'test' / 'metrics.json').is_file()

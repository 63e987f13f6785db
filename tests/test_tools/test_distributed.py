"""tools/dist_train.sh and tools/dist_test.sh with 2 gloo processes on real
images: both ranks take part on different shards, --auto-scale-lr scales by
the total batch, and the evaluation equals a single-process tools/test.py."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test import CHILD_CONFIG as TINY_CONFIG

#: Records the image ids each rank trains and tests on.
RECORDER = '''
import json
import os.path as osp

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ShardRecorderHook(Hook):

    def __init__(self):
        self.ids = dict(train=[], test=[])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.ids['train'] += [s.img_id for s in data_batch['data_samples']]

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        self.ids['test'] += [s.img_id for s in data_batch['data_samples']]

    def after_run(self, runner):
        name = f'ids_rank{runner.rank}_of_{runner.world_size}.json'
        with open(osp.join(runner.work_dir, name), 'w') as f:
            json.dump(self.ids, f)
'''

#: The tiny end-to-end config (BAFE-Net-R18 at 256x256, one epoch on 4 real
#: images, batch 2) with the shard recorder, no validation during training,
#: every box scored (score_thr=0) so that the evaluation has predictions to
#: compare, and a fixed seed.
CHILD_CONFIG = TINY_CONFIG + """
custom_imports = dict(imports=['shard_recorder'], allow_failed_imports=False)
custom_hooks = [dict(type='ShardRecorderHook')]
model = dict(backbone=dict(init_cfg=None), test_cfg=dict(score_thr=0.0))
train_cfg = dict(max_epochs=1, val_begin=2)
randomness = dict(seed=0)
"""


@pytest.fixture(scope='module')
def setup(real_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('dist')
    (tmp / 'shard_recorder.py').write_text(RECORDER)
    config = tmp / 'bafenet_r18_tiny.py'
    config.write_text(
        CHILD_CONFIG.format(base=REPO_ROOT /
                            'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'))
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join([str(tmp), str(REPO_ROOT)]),
        PORT=str(29500 + os.getpid() % 1000))
    return tmp, config, env


def run(env, *args):
    proc = subprocess.run(
        list(map(str, args)),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def split_ids(real_root, name):
    return set((real_root / f'Splits/{name}.txt').read_text().split())


def shards(work_dir, stage):
    return [
        json.loads((work_dir / f'ids_rank{rank}_of_2.json').read_text())[stage]
        for rank in (0, 1)
    ]


def test_two_processes_train_and_test_like_one(setup, real_root):
    tmp, config, env = setup
    work_dir = tmp / 'train'
    output = run(env, 'bash', 'tools/dist_train.sh', config, 2,
                 '--data-root', real_root, '--work-dir', work_dir,
                 '--auto-scale-lr')
    assert 'Distributed training: True' in output
    # Each rank trains one iteration of 2 images, on its own half.
    first, second = shards(work_dir, 'train')
    assert len(first) == len(second) == 2
    assert set(first) | set(second) == split_ids(real_root, 'mini_trainval')
    # 2 processes x batch 2 over base_batch_size 2: lr 1.0 x 2, times the
    # ConstantLR warm-up factor 1/3 at the first iteration.
    assert 'Scaling the original LR by 2.0' in output
    scalars = [
        json.loads(line) for line in next(
            work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()
    ]
    assert scalars[0]['lr'] == pytest.approx(2.0 / 3)

    checkpoint = work_dir / 'epoch_1.pth'
    run(env, 'bash', 'tools/dist_test.sh', config, checkpoint, 2,
        '--data-root', real_root, '--work-dir', tmp / 'dist_test')
    first, second = shards(tmp / 'dist_test', 'test')
    assert len(first) == len(second) == 2
    assert set(first) | set(second) == split_ids(real_root, 'mini_test')

    run(env, sys.executable, 'tools/test.py', config, checkpoint,
        '--data-root', real_root, '--work-dir', tmp / 'single_test')
    dist = json.loads((tmp / 'dist_test/metrics.json').read_text())['metrics']
    single = json.loads(
        (tmp / 'single_test/metrics.json').read_text())['metrics']
    assert sorted(dist) == sorted(single)
    for key, value in single.items():
        if value is None:
            assert dist[key] is None, key
        else:
            assert dist[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
    assert any(value for value in single.values()), single

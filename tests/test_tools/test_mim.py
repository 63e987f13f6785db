"""bafenet as an installed OpenMMLab package, on real images.

``mim train bafenet CONFIG`` and ``mim test bafenet CONFIG --checkpoint``
find the config by name and the tools in ``bafenet/.mim``; ``mim search
bafenet`` reads ``model-index.yml``; the checkpoint ``mim train`` wrote loads
safely after importing only ``bafenet.utils``, and through mmdet's own
``tools/test.py`` with our config; ``tools/test.py`` refuses it for a model it
does not cover. One tiny training run (FCOS-R18, 2 iterations on 4 images)
feeds them all.

Needs bafenet installed from this checkout (``tools/setup_env.sh`` installs
it in editable mode, which links ``bafenet/.mim``) and openmim.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import mmdet
import pytest
import yaml

from tests.conftest import REPO_ROOT

CONFIG = 'fcos_r18_fpn_20e_densesirst.py'


def tiny_options(data_root=None):
    """--cfg-options for 2 iterations on 4 real images, offline, with a
    32-channel neck and head and no validation while training; with
    ``data_root`` for tools without ``--data-root`` (mmdet's)."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    options = [
        'model.backbone.init_cfg=None', 'model.neck.out_channels=32',
        'model.bbox_head.in_channels=32', 'model.bbox_head.feat_channels=32',
        'train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
        'default_hooks.logger.interval=1',
        'train_dataloader.dataset.dataset.times=1',
        'train_dataloader.dataset.dataset.dataset.ann_file='
        'Splits/mini_trainval.txt'
    ]
    for loader in loaders:
        options += [
            f'{loader}.num_workers=0', f'{loader}.persistent_workers=False'
        ]
    for loader in loaders[1:]:
        options.append(f'{loader}.dataset.ann_file=Splits/mini_test.txt')
        if data_root is not None:
            options.append(f'{loader}.dataset.data_root={data_root}/')
    return ['--cfg-options', *options]


def run(*args, cwd, check=True):
    """Run a command (the test interpreter's ``mim`` for ``'mim'``)."""
    if args[0] == 'mim':
        args = (sys.executable, '-m', 'mim', *args[1:])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([str(a) for a in args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, output[-4000:]
    return proc.returncode, output


@pytest.fixture(scope='module')
def mim_trained(real_root, tmp_path_factory):
    """``mim train bafenet CONFIG`` run from a folder without configs."""
    tmp = tmp_path_factory.mktemp('mim')
    pytest.importorskip('mim', reason='openmim is a test requirement')
    _, output = run('mim', 'train', 'bafenet', CONFIG, '--data-root',
                    real_root, '--work-dir', tmp / 'work', *tiny_options(),
                    cwd=tmp)
    return tmp, tmp / 'work' / 'epoch_1.pth', output


def test_mim_train_finds_config_and_tool_in_the_package(mim_trained):
    tmp, checkpoint, output = mim_trained
    assert f"The path {CONFIG} doesn't exist but we find the config file " \
        'in codebase bafenet' in output
    assert osp.join('bafenet', '.mim', 'tools', 'train.py') in output
    assert checkpoint.is_file()


def test_mim_test_evaluates_the_checkpoint(mim_trained, real_root):
    tmp, checkpoint, _ = mim_trained
    run('mim', 'test', 'bafenet', CONFIG, '--checkpoint', checkpoint,
        '--data-root', real_root, '--work-dir', tmp / 'test',
        *tiny_options(), cwd=tmp)
    report = json.loads((tmp / 'test' / 'metrics.json').read_text())
    assert report['checkpoint'] == str(checkpoint)
    assert report['split'].endswith('Splits/mini_test.txt')
    assert {'mAP07', 'mAP12', 'Pd'} <= set(report['metrics'])


def test_mim_search_lists_the_model_index(tmp_path):
    """Every model of model-index.yml, with the published figures of the
    original code's BAFE-Net-R18, ours where measured, none elsewhere."""
    pytest.importorskip('mim', reason='openmim is a test requirement')
    run('mim', 'search', 'bafenet', '--json', tmp_path / 'models.json',
        cwd=tmp_path)
    found = json.loads((tmp_path / 'models.json').read_text())
    configs = found['config']
    assert configs['bafenet-v1_r18_fpn_20e_densesirst'] == \
        'configs/original/bafenet-v1_r18_fpn_20e_densesirst.py'
    assert set(configs) == set(model_index())
    published = found['densesirst/map07']
    assert published['bafenet-v1_r18_fpn_20e_densesirst'] == 0.283
    assert published['bafenet_r18_fpn_20e_densesirst'] is None
    ours = found['densesirst test_v2/map07']
    assert ours['bafenet-fullcov_r18-half_fpn_cpu2h_densesirst-train'] == \
        0.876
    assert ours['bafenet-fullcov_r18-half_fpn_cpu2h_densesirst-trainval'] == \
        0.888


def model_index():
    """``{config: model entry}`` of every metafile of model-index.yml."""
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    listed = {}
    for metafile in index['Import']:
        models = yaml.safe_load((REPO_ROOT / metafile).read_text())['Models']
        for model in models:
            listed[model['Name']] = model
    return listed


def test_every_config_is_in_the_model_index():
    """Both ways: every metafile config exists, every config is listed, and
    only the original configs (published figures) and the measured runs of
    our CPU recipe and its ablations (docs/results.md) carry results."""
    listed = model_index()
    for name, model in listed.items():
        config = model['Config']
        assert (REPO_ROOT / config).is_file(), config
        assert name == Path(config).stem
        measured = config.startswith(
            ('configs/original/', 'configs/cpu_recipe/'))
        assert ('Results' in model) == measured, config
    configs = {
        str(p.relative_to(REPO_ROOT))
        for p in (REPO_ROOT / 'configs').rglob('*.py')
        if '_base_' not in p.parts
    }
    assert configs == {model['Config'] for model in listed.values()}


def test_checkpoint_loads_after_importing_only_safe_loading(mim_trained):
    """Safe loading needs no register_all_modules: without bafenet, torch
    >= 2.6 refuses mmengine's HistoryBuffer; importing the models installs
    nothing; after ``import bafenet.utils.safe_loading`` (what every
    config's custom_imports names) the same call loads it."""
    _, checkpoint, _ = mim_trained
    code = f"""
import pickle
import torch
from mmengine.runner.checkpoint import _load_checkpoint
try:
    torch.load({str(checkpoint)!r}, map_location='cpu', weights_only=True)
except pickle.UnpicklingError as err:
    print('refused without bafenet:', 'HistoryBuffer' in str(err))
import bafenet.models  # noqa: F401
try:
    _load_checkpoint({str(checkpoint)!r}, map_location='cpu')
except pickle.UnpicklingError as err:
    print('refused after importing the models:', 'HistoryBuffer' in str(err))
import bafenet.utils.safe_loading  # noqa: F401
state = _load_checkpoint({str(checkpoint)!r}, map_location='cpu')
print('loaded:', type(state['message_hub']['log_scalars']['train/loss']))
"""
    _, output = run(sys.executable, '-c', code, cwd=REPO_ROOT)
    assert 'refused without bafenet: True' in output
    assert 'refused after importing the models: True' in output
    assert "loaded: <class 'mmengine.logging.history_buffer.HistoryBuffer'>" \
        in output


def test_mmdet_test_tool_runs_our_config(mim_trained, real_root):
    """mmdet's own tools/test.py (shipped in mmdet/.mim) with our config:
    the config's custom_imports install the safe loader."""
    tmp, checkpoint, _ = mim_trained
    tool = Path(mmdet.__file__).parent / '.mim' / 'tools' / 'test.py'
    _, output = run(sys.executable, tool,
                    REPO_ROOT / 'configs/fcos' / CONFIG, checkpoint,
                    '--work-dir', tmp / 'mmdet-test', *tiny_options(real_root),
                    cwd=tmp)
    assert f'Load checkpoint from {checkpoint}' in output
    assert 'mAP07' in output


def test_test_tool_refuses_a_checkpoint_of_another_model(
        mim_trained, real_root):
    tmp, checkpoint, _ = mim_trained
    work_dir = tmp / 'refused'
    code, output = run(
        sys.executable, 'tools/test.py',
        'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py', checkpoint,
        '--work-dir', work_dir, '--data-root', real_root, cwd=REPO_ROOT,
        check=False)
    assert code != 0
    assert f'CheckpointError: {checkpoint} does not cover the model:' \
        in output, output[-3000:]
    assert 'missing from the checkpoint: bbox_head.' in output
    assert 'trained with fcos_r18_fpn_20e_densesirst (model FCOS' in output
    assert not (work_dir / 'metrics.json').exists()

"""Config mistakes are named: a ``--cfg-options`` text where the config has
a number, and a top-level key nothing reads (a misspelt ``load_form``),
which would otherwise be ignored. No config of the repository is warned
about."""
import subprocess
import sys
import warnings

import pytest
from mmengine.config import Config

from bafenet.utils import load_config, load_tool_config
from bafenet.utils.config import unread_config_keys, warn_unread_config_keys
from tests.conftest import REPO_ROOT

FCOS = str(REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py')
CONFIGS = sorted((REPO_ROOT / 'configs').rglob('*.py'))


@pytest.mark.parametrize('config', CONFIGS,
                         ids=[str(p.relative_to(REPO_ROOT)) for p in CONFIGS])
def test_no_config_of_the_repository_is_warned_about(config):
    cfg = Config.fromfile(config)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert warn_unread_config_keys(cfg) == []


def test_misspelt_top_level_keys_are_warned_about(tmp_path):
    config = tmp_path / 'typos.py'
    config.write_text(f"""
_base_ = '{FCOS}'
load_form = 'epoch_12.pth'
train_cfgg = dict(max_epochs=3)
crop = 64
train_dataloader = dict(batch_size=crop // 32)
""")
    cfg = Config.fromfile(config)
    # crop is a variable the config itself reads.
    assert unread_config_keys(cfg) == ['load_form', 'train_cfgg']
    with pytest.warns(UserWarning) as record:
        warn_unread_config_keys(cfg)
    messages = [str(w.message) for w in record]
    assert messages == [
        f"{config}: the top-level key 'load_form' is read by nothing (not "
        "by mmengine's Runner, bafenet's tools, nor the config itself), so "
        "it has no effect; did you mean 'load_from'?",
        f"{config}: the top-level key 'train_cfgg' is read by nothing (not "
        "by mmengine's Runner, bafenet's tools, nor the config itself), so "
        "it has no effect; did you mean 'train_cfg'?",
    ]


def test_a_misspelt_cfg_option_is_warned_about():
    with pytest.warns(UserWarning, match="'load_form' is read by nothing"):
        load_tool_config(FCOS, {'load_form': 'epoch_12.pth'})


def test_the_tools_warn_about_it(tmp_path):
    """tools/test.py (here stopping at the missing checkpoint) warns as it
    reads the config."""
    proc = subprocess.run([
        sys.executable, 'tools/test.py', FCOS, tmp_path / 'missing.pth',
        '--work-dir', tmp_path, '--cfg-options', 'load_form=epoch_12.pth'
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert ("the top-level key 'load_form' is read by nothing"
            in proc.stderr), proc.stderr[-3000:]


@pytest.mark.parametrize('key, value, expected', [
    ('optim_wrapper.optimizer.lr', 'abc', "must be a number (the config has "
     "1.0), not the text 'abc'"),
    ('train_dataloader.batch_size', '2x', "must be a number (the config has "
     "2), not the text '2x'"),
    ('train_dataloader.persistent_workers', 'yes', 'must be True or False '
     "(the config has True), not the text 'yes'"),
    ('model.backbone.norm_eval', 'no',
     "must be True or False (the config has True), not the text 'no'"),
])
def test_a_cfg_option_of_the_wrong_type_names_the_key(key, value, expected):
    with pytest.raises(ValueError) as err:
        load_config(FCOS, {key: value})
    assert str(err.value) == f'--cfg-options {key}={value}: {key} {expected}'


def test_cfg_options_of_the_right_type_pass():
    cfg = load_config(
        FCOS, {
            'optim_wrapper.optimizer.lr': 0.1,
            'train_cfg.max_epochs': 3,
            'model.backbone.init_cfg': None,
            'work_dir': 'somewhere',
        })
    assert cfg.optim_wrapper.optimizer.lr == 0.1


def test_train_names_the_key(tmp_path):
    proc = subprocess.run([
        sys.executable, 'tools/train.py', FCOS, '--work-dir', tmp_path,
        '--cfg-options', 'optim_wrapper.optimizer.lr=abc'
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert ('ValueError: --cfg-options optim_wrapper.optimizer.lr=abc: '
            'optim_wrapper.optimizer.lr must be a number') in proc.stderr, \
        proc.stderr[-3000:]

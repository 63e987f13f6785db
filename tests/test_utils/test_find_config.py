"""Configs by name: the ones installed with bafenet (bafenet/.mim/configs,
which an editable install links to configs/)."""
import os.path as osp

import pytest

from bafenet.utils import find_config, load_config
from bafenet.utils.config import PACKAGE_CONFIGS
from tests.conftest import REPO_ROOT

NAME = 'fcos_r18_fpn_20e_densesirst.py'


def test_package_configs_are_the_repository_configs():
    assert osp.isdir(PACKAGE_CONFIGS), (
        f'{PACKAGE_CONFIGS} is missing: install bafenet (pip install -e .)')
    assert osp.samefile(
        osp.join(PACKAGE_CONFIGS, 'fcos', NAME),
        REPO_ROOT / 'configs' / 'fcos' / NAME)


@pytest.mark.parametrize('config', [
    NAME, 'fcos/' + NAME, 'configs/fcos/' + NAME,
    str(REPO_ROOT / 'configs' / 'fcos' / NAME)
])
def test_a_config_by_path_or_name(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    assert osp.samefile(
        find_config(config), REPO_ROOT / 'configs' / 'fcos' / NAME)


def test_load_config_takes_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config('bafenet_r18_fpn_20e_densesirst.py')
    assert cfg.model.bbox_head.type == 'BAFEHead'


def test_an_unknown_name_is_named():
    with pytest.raises(FileNotFoundError,
                       match='nope.py: no such config file, nor a config of '
                       'that path or name among those installed with '
                       'bafenet'):
        find_config('nope.py')

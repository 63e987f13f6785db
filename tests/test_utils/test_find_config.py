"""Configs by name: the ones installed with bafenet (bafenet/.mim/configs,
which an editable install links to configs/)."""
import os.path as osp

import pytest
from mmengine.config import Config

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
    NAME, NAME[:-len('.py')], 'fcos/' + NAME, 'configs/fcos/' + NAME,
    'fcos/' + NAME[:-len('.py')],
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


@pytest.mark.parametrize('config', ['nope.py', 'nope', 'fcos/nope'])
def test_an_unknown_name_is_named(config):
    with pytest.raises(FileNotFoundError) as error:
        find_config(config)
    message = str(error.value)
    assert message.startswith(
        f'{config}: no such config file, nor a config of that path or name '
        'among those installed with bafenet; their names are the files of '
        f'{PACKAGE_CONFIGS}')
    assert '`mim search bafenet` lists them' in message


def test_a_file_is_taken_as_it_is(tmp_path, monkeypatch):
    """A file of the working directory wins over an installed config of
    the same name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / NAME).write_text('x = 1\n')
    assert find_config(NAME) == NAME


@pytest.mark.parametrize('entry', ['init_detector', 'SkyDetInferencer'])
def test_the_apis_take_a_name(entry, tmp_path, monkeypatch):
    """As ``mim search bafenet`` prints it: no folder, no ``.py``."""
    from bafenet.apis import SkyDetInferencer, init_detector
    monkeypatch.chdir(tmp_path)
    name = 'bafenet-fullcov_r18_fpn_demo_densesirst'
    if entry == 'init_detector':
        model = init_detector(name)
    else:
        model = SkyDetInferencer(name, show_progress=False).model
    assert type(model).__name__ == 'BAFENet'
    assert model.cfg.filename == find_config(name + '.py')


def test_a_config_inherits_an_installed_one_by_package_name(tmp_path):
    """``_base_ = 'bafenet::...'``, as with OpenMMLab's packages: mmengine
    knows bafenet once it is imported."""
    import bafenet  # noqa: F401
    child = tmp_path / 'child.py'
    child.write_text("_base_ = 'bafenet::demo/"
                     "bafenet-fullcov_r18_fpn_demo_densesirst.py'\n"
                     'train_cfg = dict(max_epochs=1)\n')
    cfg = Config.fromfile(str(child))
    assert cfg.model.type == 'BAFENet'
    assert cfg.train_cfg.max_epochs == 1
    assert cfg.default_scope == 'bafenet'

"""The one source of the version ranges: the import-time check and the
README's table both follow bafenet/dependencies.py."""
import re

import pytest

import bafenet
from bafenet.dependencies import CHECKED_AT_IMPORT, RUNTIME, check_versions
from tests.conftest import REPO_ROOT

GOOD = dict(torch='2.13.0+cpu', numpy='2.2.6', mmengine='0.10.7',
            mmcv='2.1.0', mmdet='3.3.0', mmsegmentation='1.2.2')


def test_installed_stack_is_supported():
    check_versions()


@pytest.mark.parametrize('name,version,reason', [
    ('torch', '2.5.1', 'add_safe_globals with (object, name) pairs'),
    ('numpy', '1.26.4', 'numpy._core'),
    ('mmcv', '2.2.0', 'refuse mmcv >= 2.2'),
    ('mmdet', '3.2.0', ''),
    ('mmsegmentation', '1.1.2', ''),
    ('mmengine', '1.0.0', ''),
])
def test_unsupported_version_is_named(name, version, reason):
    with pytest.raises(ImportError) as err:
        check_versions({**GOOD, name: version})
    message = str(err.value)
    assert f'{name} {version} is installed, but bafenet needs ' \
        f'{name}{RUNTIME[name]}' in message
    assert reason in message
    assert message.count('is installed, but') == 1


def test_every_problem_is_named_at_once():
    stack = dict(GOOD, torch='2.1.2', numpy='1.26.4')
    del stack['mmcv']
    with pytest.raises(ImportError) as err:
        check_versions(stack)
    message = str(err.value)
    assert 'torch 2.1.2 is installed' in message
    assert 'numpy 1.26.4 is installed' in message
    assert 'mmcv is not installed; bafenet needs mmcv>=2.0.0,<2.2.0' \
        in message


def test_readme_states_the_same_ranges():
    """The README's table, row by row, is RUNTIME."""
    readme = (REPO_ROOT / 'README.md').read_text()
    rows = dict(
        re.findall(r'^\| ([\w, -]+) \| ([^|]+) \|', readme, re.MULTILINE))
    bounded = [name for name, spec in RUNTIME.items() if spec]
    assert set(CHECKED_AT_IMPORT) <= set(bounded)
    for name in bounded:
        stated = rows[name].replace(' ', '')
        assert stated == RUNTIME[name], (name, rows[name])
    unbounded = [name for name, spec in RUNTIME.items() if not spec]
    assert rows[', '.join(unbounded)].strip() == 'any'


def test_version_info():
    assert bafenet.version_info[:3] == tuple(
        int(x) for x in bafenet.short_version.split('.'))
    from bafenet.version import parse_version_info
    assert parse_version_info('1.2.0rc1') == (1, 2, 0, 'rc1')

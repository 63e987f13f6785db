"""The import-time check of the OpenMMLab stack."""
import pytest

import bafenet

GOOD = dict(mmengine='0.10.7', mmcv='2.1.0', mmdet='3.3.0',
            mmsegmentation='1.2.2')


def test_installed_stack_is_supported():
    bafenet.check_versions()


@pytest.mark.parametrize('name,version', [('mmcv', '2.2.0'),
                                          ('mmdet', '3.2.0'),
                                          ('mmsegmentation', '1.1.2'),
                                          ('mmengine', '1.0.0')])
def test_unsupported_version_is_named(name, version):
    with pytest.raises(ImportError, match=f'{name} {version} is installed'):
        bafenet.check_versions({**GOOD, name: version})


def test_missing_package_is_named():
    stack = dict(GOOD)
    del stack['mmcv']
    with pytest.raises(ImportError, match='mmcv is not installed'):
        bafenet.check_versions(stack)

"""bafenet: BAFE-Net, BAG-CP and DenseSIRST as an MMDetection plugin.

Importing the package checks that the installed OpenMMLab stack is one bafenet
supports, and names the package to fix otherwise.
"""
from importlib.metadata import PackageNotFoundError, version as _dist_version

from packaging.version import Version

from .version import __version__

#: Supported half-open version ranges [min, max) of the OpenMMLab stack.
SUPPORTED_VERSIONS = {
    'mmengine': ('0.10.0', '1.0.0'),
    'mmcv': ('2.0.0', '2.2.0'),
    'mmdet': ('3.3.0', '3.4.0'),
    'mmsegmentation': ('1.2.0', '1.3.0'),
}


def check_versions(installed=None):
    """Raise an ImportError naming every unsupported OpenMMLab package.

    Args:
        installed (dict[str, str], optional): Distribution name to version.
            Read from the installed distributions when not given.
    """
    problems = []
    for name, (low, high) in SUPPORTED_VERSIONS.items():
        if installed is None:
            try:
                found = _dist_version(name)
            except PackageNotFoundError:
                found = None
        else:
            found = installed.get(name)
        if found is None:
            problems.append(f'{name} is not installed')
        elif not Version(low) <= Version(found) < Version(high):
            problems.append(f'{name} {found} is installed, but bafenet needs '
                            f'{low} <= {name} < {high}')
    if problems:
        raise ImportError(
            'Unsupported OpenMMLab stack: ' + '; '.join(problems) +
            '. Run `bash tools/setup_env.sh` for the tested environment, or '
            'install the versions in requirements/mminstall.txt (mmcv 2.1.0 '
            'must be built with `MMCV_WITH_OPS=1 pip install '
            '--no-build-isolation mmcv==2.1.0`).')


check_versions()

__all__ = ['__version__', 'check_versions', 'SUPPORTED_VERSIONS']

"""bafenet: BAFE-Net, BAG-CP and DenseSIRST as an MMDetection plugin.

Importing the package checks that the installed torch, numpy and OpenMMLab
stack are versions bafenet supports (:mod:`bafenet.dependencies`, the one
source of the ranges), and names every package to fix otherwise.

It also lets configs inherit bafenet's installed configs by name, as they
do OpenMMLab's (``_base_ = 'bafenet::demo/...py'``, a path under
``configs/``): mmengine resolves ``package::`` only for the packages of its
table ``MODULE2PACKAGE``, where bafenet adds itself (mmengine then finds the
file in the installed ``bafenet/.mim/configs``).
"""
from .dependencies import check_versions
from .version import __version__, short_version, version_info

check_versions()

from mmengine.config.utils import MODULE2PACKAGE  # noqa: E402

MODULE2PACKAGE.setdefault('bafenet', 'bafenet')

__all__ = ['__version__', 'check_versions', 'short_version', 'version_info']

"""bafenet: BAFE-Net, BAG-CP and DenseSIRST as an MMDetection plugin.

Importing the package checks that the installed torch, numpy and OpenMMLab
stack are versions bafenet supports (:mod:`bafenet.dependencies`, the one
source of the ranges), and names every package to fix otherwise.
"""
from .dependencies import check_versions
from .version import __version__, short_version, version_info

check_versions()

__all__ = ['__version__', 'check_versions', 'short_version', 'version_info']

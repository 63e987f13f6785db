"""Shared fixtures: the real DenseSIRST data and the repository paths."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real dataset: $DENSESIRST_ROOT, else ../shared/data/SIRSTdevkit.
DENSESIRST_ROOT = Path(
    os.environ.get('DENSESIRST_ROOT',
                   REPO_ROOT.parent / 'shared' / 'data' / 'SIRSTdevkit'))


@pytest.fixture(scope='session')
def real_root() -> Path:
    """The real DenseSIRST ``SIRSTdevkit`` folder."""
    if not (DENSESIRST_ROOT / 'Splits').is_dir():
        pytest.skip(f'real DenseSIRST not found at {DENSESIRST_ROOT} '
                    '(set DENSESIRST_ROOT)')
    return DENSESIRST_ROOT


@pytest.fixture(scope='session', autouse=True)
def bafenet_modules():
    """Register bafenet modules with the ``bafenet`` default scope."""
    from bafenet.utils import register_all_modules
    register_all_modules()

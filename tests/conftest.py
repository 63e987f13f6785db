"""Shared fixtures: the real DenseSIRST data and the repository paths.

The suite says after collection which DenseSIRST it uses (or that none was
found, and how many tests will be skipped for it), and at its end how many
real-data tests were skipped.
"""
import os
from pathlib import Path
from typing import Mapping, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_densesirst(environ: Mapping[str, str] = os.environ,
                    repo_root: Path = REPO_ROOT) -> Optional[Path]:
    """The real DenseSIRST ``SIRSTdevkit`` folder (one with ``Splits/``).

    ``$DENSESIRST_ROOT`` when set (and then only it), else
    ``data/SIRSTdevkit`` in the checkout, else ``../shared/data/SIRSTdevkit``
    beside the checkout.

    Args:
        environ (Mapping[str, str]): The environment variables.
        repo_root (Path): The checkout.

    Returns:
        Path | None: The folder, or None if none of them holds the data.
    """
    if environ.get('DENSESIRST_ROOT'):
        candidates = [Path(environ['DENSESIRST_ROOT'])]
    else:
        candidates = [
            repo_root / 'data' / 'SIRSTdevkit',
            repo_root.parent / 'shared' / 'data' / 'SIRSTdevkit'
        ]
    return next((c for c in candidates if (c / 'Splits').is_dir()), None)


DENSESIRST_ROOT = find_densesirst()
#: Node ids of the collected tests that need the real data.
REAL_DATA_TESTS = set()


def pytest_collection_modifyitems(items):
    REAL_DATA_TESTS.update(
        item.nodeid for item in items if 'real_root' in item.fixturenames)


def pytest_report_collectionfinish():
    if DENSESIRST_ROOT is None:
        where = (f'$DENSESIRST_ROOT={os.environ["DENSESIRST_ROOT"]}'
                 if os.environ.get('DENSESIRST_ROOT') else
                 f'$DENSESIRST_ROOT unset, nor {REPO_ROOT}/data/SIRSTdevkit')
        return (f'real DenseSIRST: none ({where} has no Splits/): '
                f'{len(REAL_DATA_TESTS)} real-data tests will be skipped')
    return (f'real DenseSIRST: {DENSESIRST_ROOT} '
            f'({len(REAL_DATA_TESTS)} tests use it)')


def pytest_terminal_summary(terminalreporter):
    skipped = {
        report.nodeid
        for report in terminalreporter.stats.get('skipped', [])
        if report.nodeid in REAL_DATA_TESTS
    }
    terminalreporter.write_line(
        f'real DenseSIRST: {len(skipped)} of {len(REAL_DATA_TESTS)} '
        'real-data tests skipped' +
        ('' if DENSESIRST_ROOT else ' (no dataset found: set '
         'DENSESIRST_ROOT or put it at data/SIRSTdevkit)'))


@pytest.fixture(scope='session')
def real_root() -> Path:
    """The real DenseSIRST ``SIRSTdevkit`` folder."""
    if DENSESIRST_ROOT is None:
        pytest.skip('real DenseSIRST not found (set DENSESIRST_ROOT or put '
                    'it at data/SIRSTdevkit)')
    return DENSESIRST_ROOT


@pytest.fixture(scope='session', autouse=True)
def bafenet_modules():
    """Register bafenet modules with the ``bafenet`` default scope."""
    from bafenet.utils import register_all_modules
    register_all_modules()

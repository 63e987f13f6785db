"""Where the suite looks for the real DenseSIRST (tests/conftest.py)."""
from pathlib import Path

from tests.conftest import find_densesirst


def make_devkit(path: Path) -> Path:
    (path / 'Splits').mkdir(parents=True)
    return path


def test_the_lookup_order(tmp_path):
    checkout = tmp_path / 'bafenet'
    checkout.mkdir()
    assert find_densesirst({}, checkout) is None
    beside = make_devkit(tmp_path / 'shared' / 'data' / 'SIRSTdevkit')
    assert find_densesirst({}, checkout) == beside
    inside = make_devkit(checkout / 'data' / 'SIRSTdevkit')
    assert find_densesirst({}, checkout) == inside
    chosen = make_devkit(tmp_path / 'elsewhere')
    assert find_densesirst({'DENSESIRST_ROOT': str(chosen)},
                           checkout) == chosen


def test_a_set_variable_is_the_only_place_looked_at(tmp_path):
    """A wrong $DENSESIRST_ROOT is not replaced by another dataset."""
    checkout = tmp_path / 'bafenet'
    make_devkit(checkout / 'data' / 'SIRSTdevkit')
    assert find_densesirst({'DENSESIRST_ROOT': str(tmp_path / 'nope')},
                           checkout) is None


def test_a_folder_without_splits_is_not_the_dataset(tmp_path):
    checkout = tmp_path / 'bafenet'
    (checkout / 'data' / 'SIRSTdevkit' / 'PNGImages').mkdir(parents=True)
    assert find_densesirst({}, checkout) is None

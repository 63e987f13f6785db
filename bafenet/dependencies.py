"""What bafenet needs installed: the one source of its version ranges.

``setup.py`` reads this file (without importing bafenet, so without torch)
for ``install_requires`` and the extras, ``bafenet/__init__.py`` checks the
ranges when the package is imported, and the tests check that the README
states the same ranges. The exact versions the project is tested with are a
different thing: they are the lock, ``requirements/lock.txt``, which
``tools/setup_env.sh`` installs.

Only the standard library may be used at module level here.
"""

#: Distributions the ``bafenet`` package imports, with the versions it
#: supports. The floors of torch and numpy are those of safe checkpoint
#: loading (``bafenet/utils/checkpoint_loading.py``): it allow-lists numpy 2's
#: ``numpy._core`` functions under their numpy 1 names too, which needs
#: ``torch.serialization.add_safe_globals`` with ``(object, name)`` pairs
#: (torch 2.6). mmdet 3.3 and mmsegmentation 1.2 refuse mmcv >= 2.2.
#: mmengine requires ``opencv-python``, so bafenet asks for that build of
#: OpenCV too. mmcv 2.1.0, built where cv2 is importable, asks for none (see
#: ``tools/setup_env.sh``), so the environment holds one OpenCV.
#: setuptools is a runtime requirement: mmengine's ``_base_ =
#: 'bafenet::...'`` lookup and openmim import ``pkg_resources``, which
#: setuptools 81 removed, and torch 2.13 asks for >= 77.0.3. Without the
#: pin, ``pip install openmim`` (whose newest openxlab pins setuptools
#: 60.2) and then ``pip install bafenet[deploy]`` left setuptools 84.2, and
#: every ``mim`` command failed.
RUNTIME = {
    'torch': '>=2.6',
    'numpy': '>=2.0,<3',
    'mmengine': '>=0.10.0,<1.0.0',
    'mmcv': '>=2.0.0,<2.2.0',
    'mmdet': '>=3.3.0,<3.4.0',
    'mmsegmentation': '>=1.2.0,<1.3.0',
    'setuptools': '>=77,<81',
    # No known floor or ceiling: any version; the lock records the tested one.
    'opencv-python': '',
    'pillow': '',
    'packaging': '',
}

#: Why a floor or ceiling is what it is, for the import-time error message.
REASONS = {
    'torch': 'safe checkpoint loading needs torch.serialization.'
    'add_safe_globals with (object, name) pairs',
    'numpy': 'checkpoints are allow-listed through numpy._core',
    'mmcv': 'mmdet 3.3 and mmsegmentation 1.2 refuse mmcv >= 2.2',
}

#: The distributions whose versions ``import bafenet`` checks: the ones
#: whose wrong version fails late and obscurely (OpenCV, Pillow and
#: packaging fail at once with an ImportError of their own).
CHECKED_AT_IMPORT = ('torch', 'numpy', 'mmengine', 'mmcv', 'mmdet',
                     'mmsegmentation')

#: Optional extras: ``pip install bafenet[deploy]`` for ONNX export,
#: ``bafenet[tests]`` for the test suite (which also needs ``deploy``).
EXTRAS = {
    'deploy': {
        'onnx': '>=1.16',
        'onnxruntime': '>=1.18',
    },
    'tests': {
        'pytest': '>=7',
        'hypothesis': '>=6',
        'dadaptation': '>=3.1',
        'openmim': '>=0.3.9',
        # tests/test_apis/test_mmdet_and_sahi.py: SAHI's mmdet model with
        # scope='bafenet' (its from_pretrained passes the scope on).
        'sahi': '>=0.12,<0.13',
        # tests/test_evaluation/test_mask_metric_parity.py: pyirstdmetrics,
        # the field's mask-metric library, labels with scikit-image. It is
        # not listed here: every release declares numpy<2, so
        # tools/setup_env.sh installs it without its requirements (its code
        # runs on numpy 2; the parity test is the proof).
        'scikit-image': '>=0.22',
    },
}

#: Installed by ``tools/setup_env.sh`` with ``--no-deps`` (see above), and
#: the one requirement ``pip check`` may then report as unmet.
NO_DEPS_TEST_PACKAGES = {'pyirstdmetrics': 'numpy<2.0,>=1.23'}


def requirement_strings(table: dict) -> list:
    """``['name>=x,<y', ...]`` for setuptools and pip."""
    return [name + spec for name, spec in table.items()]


def check_versions(installed=None) -> None:
    """Raise an ImportError naming every missing or unsupported package.

    Args:
        installed (dict[str, str | None], optional): Distribution name to
            installed version (None: not installed). Read from the
            installed distributions when not given.

    Raises:
        ImportError: Listing each problem with the range bafenet needs and,
            where there is one, the reason for it.
    """
    from importlib.metadata import PackageNotFoundError, version

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    problems = []
    for name in CHECKED_AT_IMPORT:
        spec = RUNTIME[name]
        if installed is None:
            try:
                found = version(name)
            except PackageNotFoundError:
                found = None
        else:
            found = installed.get(name)
        reason = f' ({REASONS[name]})' if name in REASONS else ''
        if found is None:
            problems.append(f'{name} is not installed; bafenet needs '
                            f'{name}{spec}{reason}')
        elif not SpecifierSet(spec).contains(
                Version(found), prereleases=True):
            problems.append(f'{name} {found} is installed, but bafenet needs '
                            f'{name}{spec}{reason}')
    if problems:
        raise ImportError(
            'bafenet cannot run with the installed packages:\n  ' +
            '\n  '.join(problems) + '\nSee "Installation" in the README: '
            '`bash tools/setup_env.sh` builds the tested environment.')

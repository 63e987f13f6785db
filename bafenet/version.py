"""The version of bafenet. Only the standard library may be used here:
``setup.py`` reads this file without importing the package."""
__version__ = '0.1.0'

#: ``major.minor.patch`` without a pre-release or local part.
short_version = __version__.split('+')[0].split('rc')[0]


def parse_version_info(version_str: str) -> tuple:
    """``'0.1.0'`` -> ``(0, 1, 0)``; ``'1.0.0rc1'`` -> ``(1, 0, 0, 'rc1')``.

    Args:
        version_str (str): A ``major.minor.patch[rcN]`` version.

    Returns:
        tuple: The integer parts, then the pre-release tag if any.
    """
    info = []
    for part in version_str.split('+')[0].split('.'):
        number, _, pre = part.partition('rc')
        info.append(int(number))
        if pre:
            info.append(f'rc{pre}')
    return tuple(info)


version_info = parse_version_info(__version__)

"""Packaging for bafenet.

Free of ``import torch`` and of ``import bafenet``: pip builds the package in
an environment where neither may be importable. The requirements come from
``bafenet/dependencies.py`` (the one source of the version ranges), read as
a plain file; the exact tested versions are the lock
``requirements/lock.txt``, which only ``tools/setup_env.sh`` uses.

Like other OpenMMLab projects, the package carries ``bafenet/.mim/`` with the
``configs``, the ``tools`` and ``model-index.yml``, so that ``mim train
bafenet CONFIG``, ``mim test bafenet ...`` and ``mim search bafenet`` work
and an installed wheel can build every config by name: an editable install
(``setup.py develop``, or ``editable_wheel``) links them, building a wheel
or an sdist copies them (the copies are listed in ``MANIFEST.in``).
"""
import os
import shutil
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
#: What ``bafenet/.mim`` holds, as paths relative to the repository root.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def read_module(name: str) -> dict:
    """The globals of ``bafenet/<name>.py``, run on its own."""
    namespace = {}
    path = HERE / 'bafenet' / f'{name}.py'
    exec(compile(path.read_text(), str(path), 'exec'), namespace)
    return namespace


def add_mim_extension() -> None:
    """Fill ``bafenet/.mim`` for the setuptools command being run: links
    for an editable install, copies for a wheel or an sdist, nothing for
    other commands."""
    commands = set(sys.argv[1:])
    if commands & {'develop', 'editable_wheel'}:
        link = os.name != 'nt'  # Windows may not allow symlinks
    elif commands & {'bdist_wheel', 'sdist', 'build', 'build_py'}:
        link = False
    else:
        return
    mim = HERE / 'bafenet' / '.mim'
    mim.mkdir(exist_ok=True)
    for name in MIM_FILES:
        source, target = HERE / name, mim / name
        if not source.exists():
            continue  # building from an sdist, which holds the copies
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        if link:
            target.symlink_to(os.path.relpath(source, mim))
        elif source.is_dir():
            shutil.copytree(
                source,
                target,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(source, target)


if __name__ == '__main__':
    deps = read_module('dependencies')
    add_mim_extension()
    setup(
        name='bafenet',
        version=read_module('version')['__version__'],
        description='BAFE-Net, BAG-CP and DenseSIRST for clustered infrared '
        'small target detection, as an MMDetection plugin',
        long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
        long_description_content_type='text/markdown',
        keywords='infrared small target detection, object detection, '
        'mmdetection',
        url='https://arxiv.org/abs/2407.20078',
        packages=find_packages(include=('bafenet', 'bafenet.*')),
        include_package_data=True,
        python_requires='>=3.9',
        license='Apache License 2.0',
        install_requires=deps['requirement_strings'](deps['RUNTIME']),
        extras_require={
            name: deps['requirement_strings'](table)
            for name, table in deps['EXTRAS'].items()
        },
        classifiers=[
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.11',
            'License :: OSI Approved :: Apache Software License',
            'Topic :: Scientific/Engineering :: Image Recognition',
        ],
        zip_safe=False,
    )

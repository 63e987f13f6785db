"""Packaging for bafenet.

Deliberately free of ``import torch``: pip builds the package in an isolated
environment where torch may be absent. The exact pins used by the project's
own environment live in ``requirements/*.txt``; here the runtime packages are
declared by name only, so that users with their own CUDA stack can install
bafenet next to it. The OpenMMLab ranges are the ``mim`` extra, as in other
OpenMMLab projects.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version():
    namespace = {}
    exec((HERE / 'bafenet' / 'version.py').read_text(), namespace)
    return namespace['__version__']


def parse_requirements(name, keep_version=True):
    """Requirement strings of ``requirements/<name>.txt`` (comments dropped)."""
    reqs = []
    for line in (HERE / 'requirements' / f'{name}.txt').read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        if not keep_version:
            line = re.split(r'[=<>!~;]', line, maxsplit=1)[0].strip()
        reqs.append(line)
    return reqs


MM_RANGES = [
    'mmengine>=0.10.0,<1.0.0',
    'mmcv>=2.0.0,<2.2.0',
    'mmdet>=3.3.0,<3.4.0',
    'mmsegmentation>=1.2.0,<1.3.0',
]

setup(
    name='bafenet',
    version=read_version(),
    description='BAFE-Net, BAG-CP and DenseSIRST for clustered infrared small '
    'target detection, as an MMDetection plugin',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    keywords='infrared small target detection, object detection, mmdetection',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.9',
    license='Apache License 2.0',
    install_requires=parse_requirements('runtime', keep_version=False),
    extras_require={
        'mim': MM_RANGES,
        'tests': parse_requirements('tests', keep_version=False),
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'License :: OSI Approved :: Apache Software License',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
    zip_safe=False,
)

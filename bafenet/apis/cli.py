"""What the command-line tools share: their tiling options and the tiled
config, and the ``metrics.json`` report of ``tools/test.py`` and
``eval_metric.py``."""
import copy
import json
import math
import os.path as osp
from argparse import ArgumentParser
from typing import Optional, Tuple

from mmengine.config import Config, ConfigDict

from bafenet.models.test_time import DEFAULT_OVERLAP
from bafenet.utils import innermost_dataset_cfg


def add_tile_arguments(parser: ArgumentParser) -> None:
    """Add the tiling options shared by ``tools/test.py`` and the image demo:
    ``--tile``, ``--tile-overlap`` and ``--tile-size``.

    Args:
        parser (ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--tile',
        action='store_true',
        help='run at native resolution on overlapping tiles of the '
        'training input size, boxes merged (docs/inference.md)')
    parser.add_argument(
        '--tile-overlap',
        type=int,
        default=DEFAULT_OVERLAP,
        help='least tile overlap in px, no smaller than the largest target')
    parser.add_argument(
        '--tile-size',
        type=int,
        nargs=2,
        metavar=('WIDTH', 'HEIGHT'),
        help='tile size; default: the scale of the test pipeline\'s Resize')


def tiled_test_config(cfg: Config,
                      overlap: int = DEFAULT_OVERLAP,
                      tile_size: Optional[Tuple[int, int]] = None) -> Config:
    """The config with tiled inference at native resolution.

    The model becomes a
    :class:`~bafenet.models.test_time.TiledDetector` around the config's
    model.
    Tiles default to the scale of the test pipeline's ``Resize`` (the
    training input size), and that ``Resize`` then keeps the size
    (``scale_factor=1.0``), so frames reach the model unsquashed. A test
    pipeline that already keeps the size needs ``tile_size``.

    Args:
        cfg (Config): A detector config.
        overlap (int): Least tile overlap in px (see
            :mod:`bafenet.models.test_time.tiled_detector`).
        tile_size (tuple[int, int], optional): Tile ``(width, height)``;
            None takes the test ``Resize`` scale.

    Returns:
        Config: A new config; ``cfg`` is unchanged.

    Raises:
        ValueError: If the tile size is not given and the test pipeline has
            not exactly one ``Resize`` with a ``scale``.
    """
    cfg = copy.deepcopy(cfg)
    dataset = innermost_dataset_cfg(cfg.test_dataloader.dataset)
    squash = [
        step for step in dataset.pipeline
        if step['type'].split('.')[-1] == 'Resize' and 'scale' in step
    ]
    if len(squash) > 1:
        raise ValueError(
            'tiled inference replaces the one Resize with a scale in '
            f'test_dataloader\'s pipeline, found {len(squash)}')
    if tile_size is None and not squash:
        raise ValueError(
            'the test pipeline keeps frames at their size (no Resize with a '
            'scale to take the tile size from): give the tile size, '
            '--tile-size WIDTH HEIGHT on the command line (tile_size=(W, H) '
            'in Python), e.g. the training crop size')
    if squash:
        scale = squash[0]['scale']
        if tile_size is None:
            tile_size = (scale, scale) if isinstance(scale, int) else scale
        dataset.pipeline = [
            dict(type='Resize', scale_factor=1.0) if step is squash[0] else
            step for step in dataset.pipeline
        ]
    cfg.model = ConfigDict(
        type='TiledDetector',
        module=cfg.model,
        tile_size=tuple(tile_size),
        overlap=overlap)
    return cfg


def test_split_file(cfg: Config) -> str:
    """The split file of the (possibly wrapped) test dataset of ``cfg``."""
    dataset = innermost_dataset_cfg(cfg.test_dataloader.dataset)
    return osp.join(dataset.get('data_root', ''), dataset.get('ann_file', ''))


def json_metrics(metrics: dict) -> dict:
    """``metrics`` as JSON numbers: an undefined figure (NaN, e.g. the
    best-F1 threshold without any true positive) becomes None (null)."""
    return {
        k: None if math.isnan(float(v)) else float(v)
        for k, v in metrics.items()
    }


def write_metrics_report(path: str, metrics: dict, **fields) -> dict:
    """Write ``fields`` and then ``metrics`` to ``path`` as JSON.

    Args:
        path (str): The JSON file.
        metrics (dict): Figure name -> number (see :func:`json_metrics`).
        **fields: What the figures are of (config, checkpoint, split...).

    Returns:
        dict: The report written.
    """
    report = dict(fields, metrics=json_metrics(metrics))
    with open(path, 'w') as f:
        json.dump(report, f, indent=2, allow_nan=False)
    return report

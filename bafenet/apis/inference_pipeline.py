"""The test pipeline of a config, as inference on bare images runs it."""
import copy
from typing import List

from mmcv.transforms import LoadAnnotations
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config

from bafenet.registry import TRANSFORMS


def loads_annotations(step: dict) -> bool:
    """Whether a pipeline step loads annotations: its type (a registered
    name, also scoped like ``'mmdet.LoadAnnotations'``, or a class) is
    mmcv's ``LoadAnnotations`` or a subclass (mmdet's, bafenet's
    ``LoadDetSegAnnotations``).

    Args:
        step (dict): A transform config.

    Returns:
        bool: True for an annotation loader.

    Raises:
        KeyError: If the type is a name no registry holds.
    """
    transform = step['type']
    if isinstance(transform, str):
        name = transform
        transform = TRANSFORMS.get(name)
        if transform is None:
            raise KeyError(f'{name} is not a registered transform')
    return isinstance(transform, type) and issubclass(transform,
                                                      LoadAnnotations)


def inference_pipeline_cfg(cfg: Config) -> List[dict]:
    """The config's test pipeline without its annotation loaders.

    Test pipelines load ground truth for the metrics (boxes, sky maps and,
    in mask-dataset configs, target masks that must exist); an image given
    to a model has none. Every step whose type is an annotation loader
    (:func:`loads_annotations`) is dropped, wherever it stands.

    Args:
        cfg (Config): A detector config with a ``test_dataloader``.

    Returns:
        list[dict]: A copy of the test pipeline's steps.
    """
    pipeline = copy.deepcopy(get_test_pipeline_cfg(cfg))
    return [step for step in pipeline if not loads_annotations(step)]


def set_bit_depth(cfg: Config, bit_depth: int) -> None:
    """Set the bit depth of the frames a config's test pipeline reads: the
    ``bit_depth`` of its ``ScaleBitDepth`` steps, found by type.

    Args:
        cfg (Config): A detector config, changed in place.
        bit_depth (int): The bits of 16-bit frames' values, 8 to 16.

    Raises:
        ValueError: If the test pipeline has no ``ScaleBitDepth`` step (it
            reads frames as OpenCV's colour read makes them, 8-bit).
    """
    steps = [
        step for step in get_test_pipeline_cfg(cfg)
        if step['type'] in ('ScaleBitDepth', 'bafenet.ScaleBitDepth')
    ]
    if not steps:
        raise ValueError(
            'the test pipeline has no ScaleBitDepth step to set the bit '
            'depth of; add LoadImageFromFile(color_type="unchanged") and '
            'ScaleBitDepth (docs/inference.md, "Input contract")')
    for step in steps:
        step['bit_depth'] = bit_depth

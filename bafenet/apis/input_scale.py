"""A warning for frames resized far from the scale a model was trained at.

Configs that squash frames to one input size (``Resize(scale=(512, 512))``)
train and test at that size, so a target's size in the model's input is its
size in the frame times the resize factor. DenseSIRST's own frames (135x96
to 1918x1080) are resized to 512x512 by factors of 0.27 to 5.3 per axis; a
frame resized by more than :data:`MAX_RESIZE_FACTOR` (a side under 64 px) or
less than its inverse (a side over 4096 px) holds targets larger or smaller
than any the model saw (for a 512x512 input). Configs that keep frames at
their size (``Resize(scale_factor=1.0)``: the demo config, tiled inference)
resize nothing and are not checked: there what matters is the targets'
pixel size, which no frame size tells (docs/inference.md, "Input
contract").
"""
import warnings
from typing import Sequence

from mmdet.structures import DetDataSample

#: The largest resize factor (either way) at which no warning is given.
MAX_RESIZE_FACTOR = 8.0


class InputScaleWarning(UserWarning):
    """A frame resized far from the model's training scale."""


def warn_on_input_scale(samples: Sequence[DetDataSample]) -> None:
    """Warn, naming the frame, for each sample resized by more than
    :data:`MAX_RESIZE_FACTOR` or less than its inverse along an axis.

    Args:
        samples (Sequence[DetDataSample]): Predictions whose metainfo holds
            ``scale_factor`` (w, h) and ``ori_shape`` (H, W), as the test
            pipelines' ``PackDetInputs`` keeps them.
    """
    for sample in samples:
        factors = sample.metainfo.get('scale_factor')
        if factors is None:
            continue
        if all(1 / MAX_RESIZE_FACTOR <= f <= MAX_RESIZE_FACTOR
               for f in factors):
            continue
        height, width = sample.ori_shape[:2]
        name = sample.metainfo.get('img_path') or 'an input array'
        warnings.warn(
            f'{name}: the {width}x{height} frame is resized by '
            f'{factors[0]:.2f} x {factors[1]:.2f} to the model\'s input, '
            f'beyond 1/{MAX_RESIZE_FACTOR:g} to {MAX_RESIZE_FACTOR:g}: its '
            'targets are smaller or larger than any the model was trained '
            'on (see "Input contract" in docs/inference.md)',
            InputScaleWarning,
            stacklevel=2)

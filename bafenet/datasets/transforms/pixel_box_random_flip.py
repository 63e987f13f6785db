"""Random flips that keep pixel-index boxes on their pixels."""
import numpy as np
from mmdet.datasets.transforms import RandomFlip

from bafenet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PixelBoxRandomFlip(RandomFlip):
    """mmdet's ``RandomFlip`` for boxes whose corners are pixel indices.

    DenseSIRST's VOC boxes (after ``minus_one``) name the first and the last
    pixel of the target, both included, the convention of mmdet's legacy
    ``+1`` evaluation. Flipping an image of width W sends pixel ``x`` to
    ``W - 1 - x``, but mmdet's box flip computes ``W - x``, the rule for
    continuous coordinates: every horizontally flipped box lands one pixel
    right of its target (vertically: one pixel below). On targets 3-4 px
    wide, that is a quarter of the box, and it is random: the network sees
    the same target labelled at two positions one pixel apart, and learns
    their mean, half a pixel off either (``docs/method.md``, section
    "Coverage"). This flip moves the flipped boxes back by that pixel and
    records the matching homography; the image, masks and sky map flip as
    in mmdet.

    Arguments, required and modified keys: those of mmdet's ``RandomFlip``.
    """

    def _flip(self, results: dict) -> None:
        """Flip as mmdet does, then shift boxes by -1 px on flipped axes."""
        super()._flip(results)
        direction = results['flip_direction']
        shift_x = -1 if direction in ('horizontal', 'diagonal') else 0
        shift_y = -1 if direction in ('vertical', 'diagonal') else 0
        if results.get('gt_bboxes', None) is not None:
            results['gt_bboxes'].translate_((shift_x, shift_y))
        shift = np.array([[1, 0, shift_x], [0, 1, shift_y], [0, 0, 1]],
                         dtype=np.float32)
        results['homography_matrix'] = shift @ results['homography_matrix']

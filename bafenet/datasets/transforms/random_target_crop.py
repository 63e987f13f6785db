"""Fixed-size crops that hold a target, at the frame's own resolution."""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.structures.bbox import autocast_box_type

from bafenet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomTargetCrop(BaseTransform):
    """Crop a window of ``crop_size`` that wholly holds a random target.

    Targets of a few pixels cover a tiny share of a frame, so a window at a
    uniformly random position (mmdet's ``RandomCrop``) mostly holds none. Here
    one box is drawn uniformly among the sample's boxes, then the window's
    top-left corner uniformly among the positions where the window lies in
    the image and holds that box wholly; the target can therefore sit
    anywhere in the window. A box larger than the window is centred in it.
    A frame smaller than the window on a side keeps that side whole, and a
    sample without boxes is cropped at a uniformly random position.

    Like mmdet's ``RandomCrop``, the other boxes are shifted, clipped to the
    window and kept when some of their area lies inside it; their labels and
    ignore flags follow, and the sky map is cropped with the image.

    Required keys: ``img``, ``gt_bboxes`` (``HorizontalBoxes``),
    ``gt_bboxes_labels``, ``gt_ignore_flags``; ``gt_seg_map`` (H, W)
    optional.
    Modified keys: ``img``, ``img_shape``, ``gt_bboxes``,
    ``gt_bboxes_labels``, ``gt_ignore_flags``, ``gt_seg_map``.
    Added keys: ``homography_matrix`` (composed with an existing one).

    Args:
        crop_size (tuple[int, int]): Window ``(width, height)`` in pixels, as
            in mmdet's ``RandomCrop``.
    """

    def __init__(self, crop_size: Tuple[int, int]) -> None:
        if (len(crop_size) != 2 or
                not all(isinstance(s, int) and s > 0 for s in crop_size)):
            raise ValueError('crop_size must be two positive ints (width, '
                             f'height), got {crop_size}')
        self.crop_size = tuple(crop_size)

    @staticmethod
    def offset_range(low: float, high: float, size: int,
                     window: int) -> Tuple[int, int]:
        """Inclusive range of window starts on one axis.

        Args:
            low (float): The box's first coordinate.
            high (float): The box's last coordinate.
            size (int): The image's length on this axis.
            window (int): The window's length on this axis (<= ``size``).

        Returns:
            tuple[int, int]: ``(first, last)`` starts that keep the window in
            the image and the box in the window (the box centred when it is
            longer than the window).
        """
        first = max(int(np.ceil(high)) - window, 0)
        last = min(int(np.floor(low)), size - window)
        if first > last:
            centred = int(round((low + high - window) / 2))
            first = last = min(max(centred, 0), size - window)
        return first, last

    @cache_randomness
    def choose_offset(self, boxes: np.ndarray, image_hw: Tuple[int, int],
                      crop_hw: Tuple[int, int]) -> Tuple[int, int]:
        """Top-left corner ``(y, x)`` of the window.

        Args:
            boxes (np.ndarray): (N, 4) ``x1, y1, x2, y2`` boxes; N may be 0.
            image_hw (tuple[int, int]): The image's height and width.
            crop_hw (tuple[int, int]): The window's height and width.
        """
        (height, width), (crop_h, crop_w) = image_hw, crop_hw
        if len(boxes) == 0:
            return (np.random.randint(height - crop_h + 1),
                    np.random.randint(width - crop_w + 1))
        x1, y1, x2, y2 = boxes[np.random.randint(len(boxes))]
        y_first, y_last = self.offset_range(y1, y2, height, crop_h)
        x_first, x_last = self.offset_range(x1, x2, width, crop_w)
        return (np.random.randint(y_first, y_last + 1),
                np.random.randint(x_first, x_last + 1))

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Crop ``results`` in place and return it."""
        img = results['img']
        height, width = img.shape[:2]
        crop_h = min(self.crop_size[1], height)
        crop_w = min(self.crop_size[0], width)
        bboxes = results['gt_bboxes']
        top, left = self.choose_offset(bboxes.tensor.numpy(),
                                       (height, width), (crop_h, crop_w))

        results['img'] = img[top:top + crop_h, left:left + crop_w]
        results['img_shape'] = (crop_h, crop_w)
        shift = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]],
                         dtype=np.float32)
        previous = results.get('homography_matrix')
        results['homography_matrix'] = (
            shift if previous is None else shift @ previous)

        bboxes.translate_([-left, -top])
        bboxes.clip_((crop_h, crop_w))
        keep = bboxes.is_inside((crop_h, crop_w)).numpy()
        results['gt_bboxes'] = bboxes[keep]
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            results[key] = results[key][keep]
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = results['gt_seg_map'][top:top + crop_h,
                                                          left:left + crop_w]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'

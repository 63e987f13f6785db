"""How many positive points the FCOS assignment gives each ground-truth
box: the recall ceiling of a detector trained with it (a box without a
positive is never a classification target)."""
import math
from typing import Sequence, Tuple

import numpy as np
import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
from mmengine.structures import InstanceData

from .assigners import FCOSPointAssigner, fpn_points


def head_assignment(head: FCOSHead) -> Tuple[FCOSPointAssigner, list, list]:
    """The assigner, strides and regress ranges with which a head of the
    FCOS family assigns its points.

    Args:
        head (FCOSHead): mmdet's ``FCOSHead`` or a subclass; a head with an
            ``assigner`` (``SyncFreeFCOSHead``) gives its own, mmdet's
            ``FCOSHead`` the :class:`FCOSPointAssigner` of its centre
            sampling (its rule exactly).

    Returns:
        tuple: ``(assigner, strides, regress_ranges)``.

    Raises:
        TypeError: If ``head`` is not of the FCOS family.
    """
    if not isinstance(head, FCOSHead):
        raise TypeError(
            f'{type(head).__name__} is not supported: the coverage of the '
            'FCOS assignment needs FCOSHead or a subclass')
    assigner = getattr(head, 'assigner', None) or FCOSPointAssigner(
        center_sampling=head.center_sampling,
        center_sample_radius=head.center_sample_radius)
    return assigner, list(head.strides), [list(r) for r in head.regress_ranges]


def padded_shape(img_shape: Sequence[int],
                 pad_size_divisor: int) -> Tuple[int, int]:
    """(H, W) of an image padded by the data preprocessor."""
    return tuple(
        int(math.ceil(s / pad_size_divisor)) * pad_size_divisor
        for s in img_shape[:2])


def positives_per_gt(assigner: FCOSPointAssigner, strides: Sequence[int],
                     regress_ranges: Sequence[Sequence[float]],
                     img_shape: Sequence[int],
                     gt_bboxes: torch.Tensor) -> np.ndarray:
    """How many positive points each ground-truth box gets on each level.

    Args:
        assigner (FCOSPointAssigner): The assignment rule.
        strides (Sequence[int]): The FPN levels' strides.
        regress_ranges (Sequence[Sequence[float]]): Their regress ranges.
        img_shape (Sequence[int]): (H, W) of the padded network input.
        gt_bboxes (torch.Tensor): (G, 4) boxes ``x1, y1, x2, y2`` in input
            pixels.

    Returns:
        np.ndarray: (L, G) int, the positive points of box g on level l.
    """
    sizes = [(math.ceil(img_shape[0] / s), math.ceil(img_shape[1] / s))
             for s in strides]
    # FCOS's points (AnchorFreeHead's generator: offset 0.5)
    points = MlvlPointGenerator(strides).grid_priors(
        sizes, dtype=gt_bboxes.dtype, device=gt_bboxes.device)
    assigned = assigner.assign(
        fpn_points(points, strides, regress_ranges),
        InstanceData(
            bboxes=gt_bboxes,
            labels=gt_bboxes.new_zeros(len(gt_bboxes), dtype=torch.long)))
    counts = np.zeros((len(strides), len(gt_bboxes)), dtype=int)
    for level, gt_inds in enumerate(
            assigned.gt_inds.split([len(p) for p in points])):
        counts[level] = np.bincount(
            gt_inds.numpy(), minlength=len(gt_bboxes) + 1)[1:]
    return counts

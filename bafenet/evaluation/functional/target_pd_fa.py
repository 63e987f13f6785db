"""Target-level Pd and Fa of box detections (centroid distance rule).

The infrared small-target convention (DNANet, BasicIRSTD) matches predicted
and ground-truth *targets* by the distance of their centroids rather than by
IoU. For boxes: a ground-truth target is detected when the centre of a kept
predicted box lies within ``max_dist`` px of the ground-truth box centre.
Each target is matched at most once and each prediction at most once;
predictions are visited best score first and take the nearest unmatched
target in reach.
"""
from typing import NamedTuple, Tuple

import numpy as np


class TargetMatches(NamedTuple):
    """The centroid matching of one image.

    Attributes:
        num_targets (int): Ground-truth targets (ignored ones excluded).
        num_detected (int): Targets matched by a prediction.
        num_false (int): Kept predictions that match neither a target nor an
            ignored target.
        false_pixels (int): Pixels covered by the boxes of those false
            predictions (their union, clipped to the image).
        num_pixels (int): Pixels of the image, ``H * W``.
    """
    num_targets: int
    num_detected: int
    num_false: int
    false_pixels: int
    num_pixels: int


def box_centres(boxes: np.ndarray) -> np.ndarray:
    """Centres of (N, 4) ``[x1, y1, x2, y2]`` boxes, as (N, 2) ``(x, y)``."""
    return (boxes[:, :2] + boxes[:, 2:4]) / 2


def match_targets(pred_boxes: np.ndarray,
                  pred_scores: np.ndarray,
                  gt_boxes: np.ndarray,
                  gt_ignore_boxes: np.ndarray,
                  img_shape: Tuple[int, int],
                  score_thr: float,
                  max_dist: float = 3.) -> TargetMatches:
    """Match the kept predictions of one image to its targets by centroid.

    Args:
        pred_boxes (np.ndarray): (M, 4) predicted boxes, in the ground
            truth's coordinates.
        pred_scores (np.ndarray): (M, ) their scores.
        gt_boxes (np.ndarray): (N, 4) ground-truth boxes.
        gt_ignore_boxes (np.ndarray): (K, 4) ignored ground-truth boxes; a
            prediction within reach of one is not a false alarm.
        img_shape (tuple[int, int]): ``(H, W)`` of the image.
        score_thr (float): Predictions with a score ``>= score_thr`` are
            kept.
        max_dist (float): Largest centroid distance, in pixels, of a match
            (inclusive). Defaults to 3.

    Returns:
        TargetMatches: The counts of the image.
    """
    keep = pred_scores >= score_thr
    boxes = pred_boxes[keep][np.argsort(-pred_scores[keep], kind='stable')]
    centres = box_centres(boxes)
    dist = np.linalg.norm(
        centres[:, None] - box_centres(gt_boxes)[None], axis=-1)
    in_reach = dist <= max_dist
    # Unreachable pairs get an infinite distance so argmin only sees targets
    # in reach.
    dist = np.where(in_reach, dist, np.inf)
    taken = np.zeros(len(gt_boxes), dtype=bool)
    matched = np.zeros(len(boxes), dtype=bool)
    for i in np.flatnonzero(in_reach.any(axis=1)):
        candidates = np.where(taken, np.inf, dist[i])
        j = int(np.argmin(candidates))
        if np.isfinite(candidates[j]):
            taken[j] = matched[i] = True

    false = ~matched
    if len(gt_ignore_boxes):
        dist_ignore = np.linalg.norm(
            centres[:, None] - box_centres(gt_ignore_boxes)[None], axis=-1)
        false &= ~(dist_ignore <= max_dist).any(axis=1)

    height, width = img_shape
    return TargetMatches(
        num_targets=len(gt_boxes),
        num_detected=int(taken.sum()),
        num_false=int(false.sum()),
        false_pixels=box_union_area(boxes[false], (height, width)),
        num_pixels=height * width)


def box_pixel_extents(boxes: np.ndarray,
                      img_shape: Tuple[int, int]) -> np.ndarray:
    """The pixels a box covers, clipped to the image.

    A box ``[x1, y1, x2, y2]`` covers the pixel columns ``round(x1)`` to
    ``round(x2)`` inclusive (and the rows alike), the legacy ``+1``
    convention of the VOC ground truth: the box of a target whose pixels
    span columns ``c0 .. c1`` is ``[c0, ., c1, .]``.

    Args:
        boxes (np.ndarray): (N, 4) boxes.
        img_shape (tuple[int, int]): ``(H, W)``.

    Returns:
        np.ndarray: (N, 4) int64 ``[x1, y1, x2, y2)``, end exclusive.
    """
    height, width = img_shape
    corners = np.rint(boxes).astype(np.int64)
    corners[:, 2:] += 1
    return np.clip(corners, 0, [width, height, width, height])


def box_union_area(boxes: np.ndarray, img_shape: Tuple[int, int]) -> int:
    """Pixels covered by the union of boxes, clipped to the image (see
    :func:`box_pixel_extents` for the pixels of a box).

    Args:
        boxes (np.ndarray): (N, 4) boxes.
        img_shape (tuple[int, int]): ``(H, W)``.

    Returns:
        int: The number of covered pixels.
    """
    if len(boxes) == 0:
        return 0
    x1, y1, x2, y2 = box_pixel_extents(boxes, img_shape).T
    # Paint only the region the boxes span, not the whole image.
    ox, oy = x1.min(), y1.min()
    canvas = np.zeros((max(y2.max() - oy, 0), max(x2.max() - ox, 0)), bool)
    for bx1, by1, bx2, by2 in zip(x1 - ox, y1 - oy, x2 - ox, y2 - oy):
        canvas[by1:by2, bx1:bx2] = True
    return int(canvas.sum())

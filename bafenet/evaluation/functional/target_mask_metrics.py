"""The infrared small-target field's mask metrics: IoU, nIoU, Pd and Fa.

Definitions follow BasicIRSTD's ``metrics.py`` (``mIoU`` and ``PD_FA``) and
ACM/DNANet's ``SamplewiseSigmoidMetric`` (nIoU), read at
github.com/XinyiYing/BasicIRSTD and github.com/YeRen123455/
Infrared-Small-Target-Detection (``model/metric.py``), and agree exactly
with pyirstdmetrics (``CMMetrics`` with ``IoUHandler``,
``ProbabilityDetectionAndFalseAlarmRate``; tested on real masks):

- targets are the 8-connected components of the ground-truth mask, and
  predictions the 8-connected components of the predicted mask;
- the targets are visited in label order (raster order of their first
  pixel); each takes the *first* still unmatched predicted component, in
  label order, whose centroid lies strictly closer than ``max_dist`` px to
  its own centroid (Euclidean, between the mean pixel coordinates in the
  image);
- false-alarm pixels are the pixels of the predicted components that no
  target took. (BasicIRSTD drops unmatched components by their *area
  value*, so an unmatched component whose area equals a matched one's is
  not counted; here every unmatched component counts, as in
  pyirstdmetrics.)

A centroid distance of exactly ``max_dist`` is common: a target shifted by
3 whole pixels along one axis. Whether it counts is decided by the last
bits of the field's own arithmetic (centroids are means of pixel
coordinates, so most are not exact binary fractions), so the centroids
here are those means in image coordinates, and pairs this close to the
threshold are decided by the field's expression (see
:func:`centroid_distance`).
"""
from typing import NamedTuple, Tuple

import cv2
import numpy as np

from .target_pd_fa import box_pixel_extents


class MaskTargetMatches(NamedTuple):
    """The mask figures of one image.

    Attributes:
        intersection (int): Pixels predicted and annotated as target.
        union (int): Pixels predicted or annotated as target.
        num_targets (int): Ground-truth components.
        num_detected (int): Ground-truth components matched by a predicted
            component.
        false_pixels (int): Pixels of the predicted components that match
            no target.
        num_pixels (int): Pixels of the image, ``H * W``.
    """
    intersection: int
    union: int
    num_targets: int
    num_detected: int
    false_pixels: int
    num_pixels: int


def mask_components(mask: np.ndarray,
                    origin: Tuple[int, int] = (0, 0)
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """The 8-connected components of a binary mask.

    Args:
        mask (np.ndarray): (H, W) bool mask.
        origin (tuple[int, int]): ``(x0, y0)``, where pixel (0, 0) of
            ``mask`` lies in the image the centroids are given in (a mask
            cut from a larger image). Defaults to (0, 0).

    Returns:
        tuple[np.ndarray, np.ndarray]: (N, ) int64 areas and (N, 2) float64
        centroids ``(x, y)`` in the image, in label order (raster order of
        each component's first pixel). Each coordinate is the exact sum of
        the component's pixel coordinates divided by its area, the value
        skimage's ``regionprops(...).centroid`` (BasicIRSTD, pyirstdmetrics)
        gives on the whole image to the last bit.
    """
    # SAUF (CCL_WU) labels in raster order, as skimage and scipy do; the
    # default block-based algorithm does not, and BasicIRSTD's first-match
    # rule depends on the order.
    num, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask.astype(np.uint8), 8, cv2.CV_32S, cv2.CCL_WU)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.int64)
    # OpenCV's centroids are in the mask's own coordinates; adding the
    # origin afterwards would round twice. Integer sums are exact in
    # float64, so one division per coordinate rounds once, as the mean
    # over the whole image does.
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    x0, y0 = origin
    sums = np.stack([
        np.bincount(ids, xs + x0, minlength=num)[1:],
        np.bincount(ids, ys + y0, minlength=num)[1:]
    ], axis=1)
    return areas, sums / areas[:, None]


def centroid_distance(pred_centroid: np.ndarray,
                      gt_centroid: np.ndarray) -> float:
    """The centroid distance as BasicIRSTD and pyirstdmetrics compute it:
    ``np.linalg.norm`` of the ``(row, col)`` difference, predicted minus
    annotated (a 2-vector dot product, which BLAS may fuse; the vectorised
    norm may differ from it in the last bit).

    Args:
        pred_centroid (np.ndarray): (2, ) ``(x, y)`` of a predicted
            component.
        gt_centroid (np.ndarray): (2, ) ``(x, y)`` of a target.

    Returns:
        float: The distance in pixels.
    """
    return float(
        np.linalg.norm(
            np.array((pred_centroid[1], pred_centroid[0])) -
            np.array((gt_centroid[1], gt_centroid[0]))))


def match_mask_targets(pred_mask: np.ndarray,
                       gt_mask: np.ndarray,
                       max_dist: float = 3.) -> MaskTargetMatches:
    """Pixel overlap and component matching of one image's masks.

    Args:
        pred_mask (np.ndarray): (H, W) bool predicted target mask.
        gt_mask (np.ndarray): (H, W) bool annotated target mask.
        max_dist (float): A predicted component matches a target when
            their centroids are *less* than ``max_dist`` px apart.
            Defaults to 3.

    Returns:
        MaskTargetMatches: The counts of the image.
    """
    num_pixels = gt_mask.size
    either = pred_mask | gt_mask
    rows = np.flatnonzero(either.any(axis=1))
    cols = np.flatnonzero(either.any(axis=0))
    origin = (0, 0)
    if rows.size:
        # Only the region holding target pixels is labelled: the
        # components and their order are those of the image, and the
        # centroids are given in image coordinates.
        region = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        pred_mask, gt_mask = pred_mask[region], gt_mask[region]
        origin = (int(cols[0]), int(rows[0]))
    pred_areas, pred_centroids = mask_components(pred_mask, origin)
    _, gt_centroids = mask_components(gt_mask, origin)
    dist = np.linalg.norm(
        gt_centroids[:, None] - pred_centroids[None], axis=-1)
    in_reach = dist < max_dist
    # Pairs within a rounding error of the threshold: the field's own
    # arithmetic decides.
    for i, j in zip(*np.nonzero(np.abs(dist - max_dist) <= 1e-9 * max_dist)):
        in_reach[i, j] = centroid_distance(pred_centroids[j],
                                           gt_centroids[i]) < max_dist
    taken = np.zeros(len(pred_areas), dtype=bool)
    for reach in in_reach[in_reach.any(axis=1)]:
        free = np.flatnonzero(reach & ~taken)
        if free.size:
            taken[free[0]] = True
    return MaskTargetMatches(
        intersection=int(np.count_nonzero(pred_mask & gt_mask)),
        union=int(np.count_nonzero(either)),
        num_targets=len(gt_centroids),
        num_detected=int(taken.sum()),
        false_pixels=int(pred_areas[~taken].sum()),
        num_pixels=int(num_pixels))


def boxes_to_mask(boxes: np.ndarray, img_shape: Tuple[int, int]) -> np.ndarray:
    """The target mask of a box detector: its boxes filled.

    Each box fills the pixels it covers by the ground truth's convention
    (:func:`~bafenet.evaluation.functional.box_pixel_extents`): a box
    derived from a target's pixel extent fills exactly that extent.

    Args:
        boxes (np.ndarray): (N, 4) boxes ``[x1, y1, x2, y2]``.
        img_shape (tuple[int, int]): ``(H, W)``.

    Returns:
        np.ndarray: (H, W) bool mask.
    """
    mask = np.zeros(img_shape, dtype=bool)
    for x1, y1, x2, y2 in box_pixel_extents(boxes, img_shape):
        mask[y1:y2, x1:x2] = True
    return mask

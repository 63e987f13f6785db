"""The FCOS post-process in numpy and OpenCV: from the raw per-level outputs
of an exported detector to boxes, scores, labels and the sky map.

Each function mirrors, step for step, the PyTorch code that the detector
runs after its head (mmdet 3.3 and mmcv 2.1), so that an exported graph plus
this module give the same results as ``model.test_step``:

- :func:`decode_detections` is ``BaseDenseHead._predict_by_feat_single`` and
  ``_bbox_post_process`` with FCOS's settings (sigmoid classification,
  centerness as the score factor, ``DistancePointBBoxCoder``);
- :func:`batched_nms` is mmcv's ``batched_nms`` with its CPU ``nms`` kernel;
- :func:`sky_probability` is ``FCOSSegHead.predict_sky``.

Nothing here needs torch, so the same code serves a deployment that has
only numpy, OpenCV and ONNX Runtime.
"""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, in the dtype of x."""
    return 1 / (1 + np.exp(-x))


def nms(boxes: np.ndarray,
        scores: np.ndarray,
        iou_threshold: float,
        max_keep: int = -1) -> np.ndarray:
    """Greedy non-maximum suppression (mmcv's CPU ``nms``, offset 0).

    Boxes are visited by descending score; a box is dropped when its IoU
    with a kept box is greater than ``iou_threshold``. Greedy NMS decides
    the kept boxes in score order, so stopping after ``max_keep`` of them
    gives exactly the first ``max_keep`` of the full result (and saves one
    pass per box beyond them: with thousands of candidates, most of the
    post-process's time).

    Args:
        boxes (np.ndarray): (N, 4) float32 ``[x1, y1, x2, y2]``.
        scores (np.ndarray): (N, ) float32.
        iou_threshold (float): IoU above which the lower box is dropped.
        max_keep (int): Stop after this many kept boxes; -1: never.

    Returns:
        np.ndarray: (K, ) int64 indices of the kept boxes, best first.
    """
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind='stable')
    keep = []
    while order.size and len(keep) != max_keep:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(
            np.float32(0),
            np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(
            np.float32(0),
            np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > iou_threshold)]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray,
                scores: np.ndarray,
                labels: np.ndarray,
                iou_threshold: float,
                max_keep: int = -1) -> np.ndarray:
    """Per-class NMS in one pass: boxes of different labels are shifted
    apart by ``label * (max coordinate + 1)`` (mmcv's ``batched_nms``).

    Args:
        boxes (np.ndarray): (N, 4) float32.
        scores (np.ndarray): (N, ) float32.
        labels (np.ndarray): (N, ) int64.
        iou_threshold (float): See :func:`nms`.
        max_keep (int): See :func:`nms`.

    Returns:
        np.ndarray: (K, ) int64 indices of the kept boxes, best first.
    """
    offsets = labels.astype(np.float32) * (boxes.max() + np.float32(1))
    return nms(boxes + offsets[:, None], scores, iou_threshold, max_keep)


def decode_detections(cls_scores: Sequence[np.ndarray],
                      bbox_preds: Sequence[np.ndarray],
                      centernesses: Sequence[np.ndarray],
                      strides: Sequence[int], img_meta: dict,
                      test_cfg: dict) -> Dict[str, np.ndarray]:
    """Boxes of one image from the raw FCOS outputs of its levels.

    Per level: sigmoid class scores above ``score_thr`` (compared as
    logits, so that only the points above it are decoded), the best
    ``nms_pre`` of them, and the box distances at their cell centres
    ((j + 0.5) * stride, (i + 0.5) * stride) (``MlvlPointGenerator``,
    offset 0.5). Then, over all
    levels: distances decoded to boxes and clipped to ``img_shape``, boxes
    scaled back to the original image, scores multiplied by the sigmoid
    centerness, boxes not wider and taller than ``min_bbox_size`` dropped,
    class-wise NMS and the best ``max_per_img`` kept.

    Args:
        cls_scores (list[np.ndarray]): Per level (num_classes, h_l, w_l)
            logits.
        bbox_preds (list[np.ndarray]): Per level (4, h_l, w_l) distances
            (l, t, r, b) in input pixels.
        centernesses (list[np.ndarray]): Per level (1, h_l, w_l) logits.
        strides (list[int]): Per level stride.
        img_meta (dict): ``img_shape`` (h, w) of the resized image and
            ``scale_factor`` (w_scale, h_scale) from the original to it.
        test_cfg (dict): ``score_thr``, ``nms_pre``, ``min_bbox_size``,
            ``nms.iou_threshold`` and ``max_per_img``, as in the detector's
            ``test_cfg``.

    Returns:
        dict: ``bboxes`` (N, 4) float32 in original-image pixels,
        ``scores`` (N, ) float32 and ``labels`` (N, ) int64, best score
        first.
    """
    score_thr = test_cfg.get('score_thr', 0)
    nms_pre = test_cfg.get('nms_pre', -1)
    # sigmoid(x) > score_thr exactly when x > logit(score_thr): the
    # threshold is applied to the logits, and only the points above it
    # are decoded
    logit_thr = (-np.inf if score_thr <= 0 else
                 np.float32(np.log(score_thr) - np.log1p(-score_thr)))
    all_points, all_dists, all_scores, all_labels, all_factors = \
        [], [], [], [], []
    for cls_score, bbox_pred, centerness, stride in zip(
            cls_scores, bbox_preds, centernesses, strides):
        num_classes, _, level_w = cls_score.shape
        logits = cls_score.transpose(1, 2, 0).reshape(-1)
        # flat index over (point, class), as torch.nonzero orders them
        valid = np.flatnonzero(logits > logit_thr)
        scores = sigmoid(logits[valid])
        order = np.argsort(-scores, kind='stable')
        order = order[:min(nms_pre, order.size)]
        chosen = valid[order]
        point_idx, labels = np.divmod(chosen, num_classes)
        rows, cols = np.divmod(point_idx, level_w)
        all_scores.append(scores[order])
        all_labels.append(labels)
        all_points.append(
            np.stack([(cols + 0.5) * stride, (rows + 0.5) * stride],
                     axis=-1).astype(np.float32))
        all_dists.append(bbox_pred[:, rows, cols].T)
        all_factors.append(sigmoid(centerness[0, rows, cols]))
    points, dists = np.concatenate(all_points), np.concatenate(all_dists)
    scores = np.concatenate(all_scores) * np.concatenate(all_factors)
    labels = np.concatenate(all_labels).astype(np.int64)

    height, width = img_meta['img_shape'][:2]
    bboxes = np.concatenate([points - dists[:, :2], points + dists[:, 2:]],
                            axis=1)
    bboxes[:, 0::2] = bboxes[:, 0::2].clip(0, width)
    bboxes[:, 1::2] = bboxes[:, 1::2].clip(0, height)
    w_scale, h_scale = img_meta['scale_factor']
    bboxes *= np.array([1 / w_scale, 1 / h_scale] * 2, dtype=np.float32)

    min_size = test_cfg.get('min_bbox_size', -1)
    if min_size >= 0:
        keep = ((bboxes[:, 2] - bboxes[:, 0] > min_size) &
                (bboxes[:, 3] - bboxes[:, 1] > min_size))
        bboxes, scores, labels = bboxes[keep], scores[keep], labels[keep]
    if len(bboxes):
        keep = batched_nms(bboxes, scores, labels,
                           test_cfg['nms']['iou_threshold'],
                           test_cfg['max_per_img'])
        bboxes, scores, labels = bboxes[keep], scores[keep], labels[keep]
    return dict(
        bboxes=bboxes.astype(np.float32),
        scores=scores.astype(np.float32),
        labels=labels)


def sky_probability(sky_logit: np.ndarray, batch_input_shape: Tuple[int,
                                                                    int],
                    img_meta: dict) -> np.ndarray:
    """The sky probability map of one image at its original size.

    The logit map is upsampled bilinearly (half-pixel centres, as
    ``F.interpolate(..., align_corners=False)``) to the padded batch, cropped
    to the resized image, resized to the original image, then passed
    through the sigmoid.

    Args:
        sky_logit (np.ndarray): (h, w) float32 logits of the sky level.
        batch_input_shape (tuple[int, int]): (H, W) of the padded batch.
        img_meta (dict): ``img_shape`` and ``ori_shape``, (h, w) first.

    Returns:
        np.ndarray: (H_ori, W_ori) float32 probabilities in [0, 1].
    """
    pad_h, pad_w = batch_input_shape
    logit = cv2.resize(
        sky_logit, (pad_w, pad_h), interpolation=cv2.INTER_LINEAR)
    height, width = img_meta['img_shape'][:2]
    ori_h, ori_w = img_meta['ori_shape'][:2]
    logit = cv2.resize(
        np.ascontiguousarray(logit[:height, :width]), (ori_w, ori_h),
        interpolation=cv2.INTER_LINEAR)
    return sigmoid(logit)

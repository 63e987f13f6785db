"""VOC box matching at an IoU threshold, with mmdet's implementation.

The detections of each image are matched to its ground truth exactly as
mmdet's ``eval_map`` does for ``VOCMetric`` (``tpfp_default``, greedy in
descending score, legacy ``+1`` box coordinates). Doing it once here lets
both AP conventions and the precision/recall/F1 figures share one matching.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.functional import average_precision
from mmdet.evaluation.functional.mean_ap import tpfp_default


class MatchedDetections(NamedTuple):
    """The detections of a dataset for one class, sorted by score.

    Attributes:
        scores (np.ndarray): (M, ) scores in descending order.
        tp (np.ndarray): (M, ) 1 where the detection is a true positive.
        fp (np.ndarray): (M, ) 1 where the detection is a false positive.
            A detection matched to an ignored ground truth is neither.
        num_gts (int): Ground-truth boxes of the class, ignored ones excluded.
    """
    scores: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    num_gts: int


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Pixel areas ``(x2 - x1) * (y2 - y1)`` of boxes.

    Args:
        boxes (np.ndarray): (n, >=4) boxes ``[x1, y1, x2, y2, ...]``.

    Returns:
        np.ndarray: (n, ) areas. For DenseSIRST's boxes, in either box
        convention, the number of pixels the box covers.
    """
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def match_detections(
        dets: Sequence[np.ndarray],
        gts: Sequence[np.ndarray],
        gts_ignore: Sequence[np.ndarray],
        iou_thr: float = 0.5,
        area_range: Optional[Tuple[float, float]] = None
) -> MatchedDetections:
    """Match the detections of one class in every image to ground truth.

    Args:
        dets (Sequence[np.ndarray]): Per image, (m, 5) boxes
            ``[x1, y1, x2, y2, score]``.
        gts (Sequence[np.ndarray]): Per image, (n, 4) ground-truth boxes.
        gts_ignore (Sequence[np.ndarray]): Per image, (k, 4) ignored boxes.
        iou_thr (float): IoU (legacy coordinates) at which a detection
            matches. Defaults to 0.5.
        area_range (tuple[float, float], optional): Score only the targets
            whose :func:`box_area` lies in ``[min, max)``: ground truth
            outside it is ignored (a detection matching it is neither true
            nor false), and so is an unmatched detection outside it. The
            rule of mmdet's ``eval_map(scale_ranges=...)`` and of COCO's
            size ranges, on pixel areas instead of the legacy ``+1`` ones.
            Defaults to None (every target).

    Returns:
        MatchedDetections: The flags of all detections, best score first.
    """
    tps, fps, num_gts = [], [], 0
    for det, gt, gt_ignore in zip(dets, gts, gts_ignore):
        if area_range is not None:
            inside = _in_range(box_area(gt), area_range)
            gt_ignore = np.concatenate([gt_ignore, gt[~inside]])
            gt = gt[inside]
        tp, fp = tpfp_default(
            det, gt, gt_ignore, iou_thr=iou_thr, use_legacy_coordinate=True)
        tp, fp = tp[0], fp[0]
        if area_range is not None:
            fp[~_in_range(box_area(det), area_range)] = 0
        tps.append(tp)
        fps.append(fp)
        num_gts += gt.shape[0]
    scores = np.concatenate([det[:, 4] for det in dets]) if dets else \
        np.zeros(0, dtype=np.float32)
    # The same sort as eval_map's, so that ties are broken the same way.
    order = np.argsort(-scores)
    tp = np.concatenate(tps)[order] if tps else np.zeros(0, np.float32)
    fp = np.concatenate(fps)[order] if fps else np.zeros(0, np.float32)
    return MatchedDetections(scores[order], tp, fp, num_gts)


def _in_range(areas: np.ndarray, area_range: Tuple[float,
                                                   float]) -> np.ndarray:
    """(n, ) flags: ``areas`` within ``[min, max)`` of ``area_range``."""
    return (areas >= area_range[0]) & (areas < area_range[1])


def voc_ap(matched: MatchedDetections, mode: str) -> tuple:
    """VOC average precision and final recall of one class.

    Args:
        matched (MatchedDetections): Output of :func:`match_detections`.
        mode (str): ``'11points'`` (VOC2007) or ``'area'`` (VOC2012).

    Returns:
        tuple[float, float]: The AP and the recall with all detections.
    """
    eps = np.finfo(np.float32).eps
    tp = np.cumsum(matched.tp)
    fp = np.cumsum(matched.fp)
    recalls = tp / max(matched.num_gts, eps)
    precisions = tp / np.maximum(tp + fp, eps)
    ap = float(average_precision(recalls, precisions, mode))
    recall = float(recalls[-1]) if recalls.size else 0.
    return ap, recall


def concat_matches(matches: List[MatchedDetections]) -> MatchedDetections:
    """Pool the matched detections of several classes, best score first.

    Args:
        matches (list[MatchedDetections]): One entry per class.

    Returns:
        MatchedDetections: All detections, class-agnostic.
    """
    scores = np.concatenate([m.scores for m in matches])
    order = np.argsort(-scores)
    return MatchedDetections(
        scores[order],
        np.concatenate([m.tp for m in matches])[order],
        np.concatenate([m.fp for m in matches])[order],
        sum(m.num_gts for m in matches))

"""How far two detectors' results on the same frame agree, as a user
compares them: boxes, scores and labels after the post-process."""
from typing import Dict

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``[x1, y1, x2, y2]`` boxes.

    Args:
        a (np.ndarray): (N, 4) boxes.
        b (np.ndarray): (M, 4) boxes.

    Returns:
        np.ndarray: (N, M) float64 IoU (0 where both boxes are empty).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=-1)
    area_a = np.prod((a[:, 2:] - a[:, :2]).clip(0), axis=-1)
    area_b = np.prod((b[:, 2:] - b[:, :2]).clip(0), axis=-1)
    union = area_a[:, None] + area_b[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def detection_agreement(reference: Dict[str, np.ndarray],
                        result: Dict[str, np.ndarray],
                        score_tolerance: float,
                        min_iou: float = 0.99) -> dict:
    """Match two sets of detections of one frame, box for box.

    A box of one set is matched by a box of the other with the same label,
    IoU > ``min_iou`` and a score within ``score_tolerance``. A box without
    a match counts as a *miss* only if its score is above the other set's
    lowest score by more than ``score_tolerance`` (the other set is empty:
    always): boxes at the ``score_thr`` or ``max_per_img`` boundary may fall
    on either side of it in two runtimes.

    Args:
        reference (dict): ``bboxes`` (N, 4), ``scores`` (N, ) and
            ``labels`` (N, ) (numpy arrays or tensors), e.g. PyTorch's.
        result (dict): The same keys for (M, ) detections, e.g. ONNX
            Runtime's.
        score_tolerance (float): Largest score difference of a match.
        min_iou (float): IoU a match must exceed.

    Returns:
        dict: ``num_reference``, ``num_result``, ``matched_reference`` and
        ``matched_result`` (boxes with a match), ``misses`` (boxes without
        a match that should have one, both sides together), ``least_iou``
        and ``largest_score_difference`` over the best match of every
        matched box (None without any).
    """
    ref = {k: np.asarray(reference[k]) for k in ('bboxes', 'scores', 'labels')}
    out = {k: np.asarray(result[k]) for k in ('bboxes', 'scores', 'labels')}
    iou = box_iou(ref['bboxes'].reshape(-1, 4), out['bboxes'].reshape(-1, 4))
    diff = np.abs(ref['scores'].astype(np.float64)[:, None] -
                  out['scores'].astype(np.float64)[None])
    match = ((iou > min_iou) & (diff <= score_tolerance) &
             (ref['labels'][:, None] == out['labels'][None]))
    ref_hit, out_hit = match.any(1), match.any(0)

    def unexplained(scores, hit, other_scores):
        # the other side's cut-off: its lowest score (anything below may be
        # cut by score_thr or max_per_img there)
        floor = other_scores.min() if other_scores.size else -np.inf
        return int(np.sum(~hit & (scores > floor + score_tolerance)))

    # over the matched boxes, the IoU and score difference of their best
    # matches
    best_iou = np.where(match, iou, -1.0)
    best_diff = np.where(match, diff, np.inf)
    pairs_iou, pairs_diff = np.empty(0), np.empty(0)
    if match.any():
        pairs_iou = np.concatenate(
            [best_iou.max(1)[ref_hit], best_iou.max(0)[out_hit]])
        pairs_diff = np.concatenate(
            [best_diff.min(1)[ref_hit], best_diff.min(0)[out_hit]])
    return dict(
        num_reference=len(ref['scores']),
        num_result=len(out['scores']),
        matched_reference=int(ref_hit.sum()),
        matched_result=int(out_hit.sum()),
        misses=(unexplained(ref['scores'], ref_hit, out['scores']) +
                unexplained(out['scores'], out_hit, ref['scores'])),
        least_iou=float(pairs_iou.min()) if pairs_iou.size else None,
        largest_score_difference=(float(pairs_diff.max())
                                  if pairs_diff.size else None))

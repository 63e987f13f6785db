"""Precision, recall and F1 of matched detections at score thresholds."""
from typing import NamedTuple

import numpy as np

from .detection_matching import MatchedDetections


class PRF1(NamedTuple):
    """Precision, recall and F1 at one score threshold.

    Attributes:
        precision (float): TP / kept detections (0 when none is kept).
        recall (float): TP / ground-truth targets.
        f1 (float): Harmonic mean of the two (0 when both are 0).
        score_thr (float): The threshold; detections with a score
            ``>= score_thr`` are kept.
    """
    precision: float
    recall: float
    f1: float
    score_thr: float


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    total = precision + recall
    return np.where(total > 0, 2 * precision * recall / np.maximum(total, 1e-12),
                    0.)


def prf1_at(matched: MatchedDetections, score_thr: float) -> PRF1:
    """Precision, recall and F1 of the detections scoring ``>= score_thr``.

    Args:
        matched (MatchedDetections): Detections with their TP/FP flags.
        score_thr (float): Score threshold.

    Returns:
        PRF1: The three figures at ``score_thr``.
    """
    keep = matched.scores >= score_thr
    tp = float(matched.tp[keep].sum())
    fp = float(matched.fp[keep].sum())
    precision = tp / (tp + fp) if tp + fp > 0 else 0.
    recall = tp / matched.num_gts if matched.num_gts > 0 else 0.
    f1 = float(_f1(np.float64(precision), np.float64(recall)))
    return PRF1(precision, recall, f1, float(score_thr))


def best_f1(matched: MatchedDetections) -> PRF1:
    """The score threshold that maximises F1, and the figures there.

    Every distinct detection score is a candidate threshold (all detections
    with that score or more are kept). Among equal F1 the highest threshold
    wins.

    Args:
        matched (MatchedDetections): Detections with their TP/FP flags,
            best score first.

    Returns:
        PRF1: The figures at the best threshold; zeros and a NaN threshold
        when no detection is a true positive.
    """
    if matched.scores.size == 0:
        return PRF1(0., 0., 0., float('nan'))
    tp = np.cumsum(matched.tp)
    fp = np.cumsum(matched.fp)
    # The last detection of each run of equal scores: thresholds keep all
    # detections of a score or none of them.
    last = np.flatnonzero(np.diff(matched.scores, append=-np.inf) != 0)
    tp, fp = tp[last], fp[last]
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.)
    recall = tp / max(matched.num_gts, 1)
    f1 = _f1(precision, recall)
    best = int(np.argmax(f1))
    if f1[best] == 0:  # no threshold finds a target: none is best
        return PRF1(0., 0., 0., float('nan'))
    return PRF1(
        float(precision[best]), float(recall[best]), float(f1[best]),
        float(matched.scores[last[best]]))

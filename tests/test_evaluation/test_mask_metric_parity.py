"""The mask metrics on real DenseSIRST target masks against seeded
perturbed predictions, compared with the field's own code: pyirstdmetrics
(the NeurIPS 2025 evaluation library, where installed) and a transcription
of BasicIRSTD's ``PD_FA`` (always)."""
import cv2
import numpy as np
import pytest
import torch

from bafenet.evaluation import DenseSIRSTMetric
from bafenet.evaluation.functional import match_mask_targets
from tests.test_evaluation.test_mask_metrics import META, basicirstd

#: Every 8th ``test_v2`` frame: 32 frames, 442 targets.
FRAME_STEP = 8
#: The perturbations a target may get in the ``mixed`` scenario.
ACTIONS = ('keep', 'drop', 'shift', 'dilate', 'erode')


def components(mask):
    """The (row, col) pixel arrays of each 8-connected component."""
    num, labels = cv2.connectedComponents(mask.astype(np.uint8), None, 8)
    if num == 1:
        return []
    ys, xs = np.nonzero(labels)
    order = np.argsort(labels[ys, xs], kind='stable')
    splits = np.cumsum(np.bincount(labels[ys, xs], minlength=num)[1:])[:-1]
    return list(zip(np.split(ys[order], splits), np.split(xs[order],
                                                          splits)))


def put(canvas, ys, xs):
    """Set the given pixels of ``canvas``, those inside it."""
    height, width = canvas.shape
    inside = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
    canvas[ys[inside], xs[inside]] = True


def perturbed(ys, xs, action, rng, canvas):
    """Draw one target's pixels into ``canvas`` after ``action``."""
    if action == 'keep':
        put(canvas, ys, xs)
    elif action == 'shift':
        # Up to 4 px along each axis: in reach, exactly 3 px away (the
        # ties) and out of reach.
        dy, dx = rng.integers(-4, 5, size=2)
        put(canvas, ys + dy, xs + dx)
    elif action == 'dilate':
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                put(canvas, ys + dy, xs + dx)
    elif action == 'erode':
        y0, x0 = ys.min() - 1, xs.min() - 1
        crop = np.zeros((ys.max() - y0 + 2, xs.max() - x0 + 2), np.uint8)
        crop[ys - y0, xs - x0] = 1
        ey, ex = np.nonzero(cv2.erode(crop, np.ones((3, 3), np.uint8)))
        put(canvas, ey + y0, ex + x0)


def false_alarms(canvas, rng, num=12):
    """Add ``num`` random blobs of 1 to 4 px a side."""
    height, width = canvas.shape
    for _ in range(num):
        h, w = rng.integers(1, 5, size=2)
        y, x = rng.integers(0, height - h), rng.integers(0, width - w)
        canvas[y:y + h, x:x + w] = True


def predictions(gt, scenario, rng):
    """A seeded perturbation of the annotated mask ``gt`` (H, W) bool."""
    pred = np.zeros_like(gt)
    if scenario == 'empty':
        return pred
    if scenario == 'shifted_3px':
        # The whole mask 3 px to the right: every target at exactly 3 px.
        pred[:, 3:] = gt[:, :-3]
        return pred
    if scenario == 'false_alarms':
        pred |= gt
        false_alarms(pred, rng)
        return pred
    action = dict(dropped='drop', shifted='shift', dilated='dilate',
                  eroded='erode').get(scenario)
    for ys, xs in components(gt):
        if scenario == 'mixed':
            chosen = ACTIONS[rng.integers(len(ACTIONS))]
        else:
            # Half the targets get the scenario's perturbation.
            chosen = action if rng.random() < 0.5 else 'keep'
        perturbed(ys, xs, chosen, rng, pred)
    if scenario == 'mixed':
        false_alarms(pred, rng)
    return pred


SCENARIOS = ('dropped', 'shifted', 'shifted_3px', 'dilated', 'eroded',
             'false_alarms', 'empty', 'mixed')


@pytest.fixture(scope='module')
def real_masks(real_root):
    names = (real_root / 'Splits/test_v2.txt').read_text().split()
    masks = []
    for name in names[::FRAME_STEP]:
        path = real_root / f'SIRST/BinaryMask/{name}_pixels0.png'
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert mask is not None, path
        masks.append(mask > 0)
    return masks


@pytest.fixture(scope='module')
def cases(real_masks):
    """{scenario: [(pred, gt), ...]}, seeded per scenario."""
    return {
        scenario: [(predictions(gt, scenario, np.random.default_rng(
            [k, i])), gt) for i, gt in enumerate(real_masks)]
        for k, scenario in enumerate(SCENARIOS)
    }


def ours(pairs):
    """The mask figures of DenseSIRSTMetric for (pred, gt) pairs."""
    metric = DenseSIRSTMetric(mask_metrics=True)
    metric.dataset_meta = META
    no_boxes = dict(bboxes=torch.zeros((0, 4)), labels=torch.zeros(
        0, dtype=torch.long))
    metric.process({}, [
        dict(ori_shape=gt.shape, img_path=f'{i}.png', gt_instances=no_boxes,
             gt_target_mask=dict(data=torch.from_numpy(gt[None])),
             pred_target_mask=dict(
                 data=torch.from_numpy(pred[None].astype(np.uint8))),
             pred_instances=dict(no_boxes, scores=torch.zeros(0)))
        for i, (pred, gt) in enumerate(pairs)
    ])
    return metric.compute_metrics(metric.results)


def test_the_scenarios_hit_every_case(cases):
    counts = {}
    for scenario, pairs in cases.items():
        matches = [match_mask_targets(pred, gt) for pred, gt in pairs]
        counts[scenario] = (sum(m.num_targets for m in matches),
                            sum(m.num_detected for m in matches),
                            sum(m.false_pixels for m in matches))
    targets = counts['empty'][0]
    assert targets > 400 and counts['empty'][1:] == (0, 0)
    # Exact 3 px ties go both ways on real masks.
    assert 0 < counts['shifted_3px'][1] < targets
    for scenario in ('dropped', 'shifted', 'eroded', 'mixed'):
        assert 0 < counts[scenario][1] < targets, scenario
    # A blob may merge with a target or be taken before it: nearly all
    # targets are still found.
    assert counts['false_alarms'][1] > 0.99 * targets
    assert counts['false_alarms'][2] > 0 and counts['mixed'][2] > 0


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_equal_to_basicirstd_transcription(cases, scenario):
    for pred, gt in cases[scenario]:
        m = match_mask_targets(pred, gt)
        targets, detected, _, unmatched = basicirstd(pred, gt)
        assert (m.num_targets, m.num_detected) == (targets, detected)
        # Every unmatched component is a false alarm (pyirstdmetrics'
        # count; BasicIRSTD's own drops some by area value).
        assert m.false_pixels == sum(area for _, area in unmatched)


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_equal_to_pyirstdmetrics(cases, scenario):
    field = pytest.importorskip(
        'py_irstd_metrics',
        reason='pyirstdmetrics is not installed (pip install scikit-image '
        '&& pip install --no-deps pyirstdmetrics==1.0.2: its metadata asks '
        'for numpy<2; see docs/evaluation.md)')
    pixels = field.CMMetrics(
        num_bins=1,
        threshold=0.5,
        metric_handlers=dict(
            IoU=field.IoUHandler(
                with_dynamic=False, with_binary=True, sample_based=False),
            nIoU=field.IoUHandler(
                with_dynamic=False, with_binary=True, sample_based=True)))
    pd_fa = field.ProbabilityDetectionAndFalseAlarmRate(
        num_bins=1, distance_threshold=3)
    distance_only = field.MatchingBasedMetrics(
        num_bins=1,
        matching_method=field.DistanceOnlyMatching(distance_threshold=3))
    for pred, gt in cases[scenario]:
        prob = pred.astype(np.float64)
        for counter in (pixels, pd_fa, distance_only):
            counter.update(prob, gt)
    theirs = pixels.get()
    figures = ours(cases[scenario])
    # Exactly equal, not approximately: the same counts, divided alike.
    assert figures['mask_IoU'] == theirs['IoU']['binary']
    assert figures['mask_nIoU'] == theirs['nIoU']['binary']
    for target_level in (pd_fa.get(), distance_only.get()):
        assert figures['mask_Pd'] == target_level['probability_detection'][0]
        assert figures['mask_Fa_per_mpixel'] == (
            target_level['false_alarm'][0] * 1e6)

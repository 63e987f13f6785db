"""The field's mask metrics (IoU, nIoU, Pd, Fa) on hand-built cases, and
against an independent transcription of BasicIRSTD's procedure."""
import numpy as np
import pytest
import torch
from scipy import ndimage

from bafenet.evaluation import DenseSIRSTMetric
from bafenet.evaluation.functional import (boxes_to_mask, mask_components,
                                           match_mask_targets)

META = dict(classes=('Target', ), seg_classes=('others', 'sky'))


def canvas(*blobs, shape=(20, 20)):
    """A bool mask with the given (row slice, col slice) blobs set."""
    mask = np.zeros(shape, dtype=bool)
    for rows, cols in blobs:
        mask[rows, cols] = True
    return mask


def test_perfect_prediction():
    gt = canvas((slice(2, 5), slice(2, 5)), (slice(10, 13), slice(10, 12)))
    m = match_mask_targets(gt.copy(), gt)
    assert m == (15, 15, 2, 2, 0, 400)


def test_centroid_distance_is_strictly_below_3():
    gt = canvas((slice(10, 11), slice(10, 11)))
    # One pixel 3 px to the right: distance 3, not < 3.
    at_3 = match_mask_targets(canvas((slice(10, 11), slice(13, 14))), gt)
    assert (at_3.num_detected, at_3.false_pixels) == (0, 1)
    # Two pixels at columns 12 and 13: centroid 2.5 px away.
    at_25 = match_mask_targets(canvas((slice(10, 11), slice(12, 14))), gt)
    assert (at_25.num_detected, at_25.false_pixels) == (1, 0)
    # The box-level Pd of DenseSIRSTMetric is inclusive (<= 3).


def field_centroid(mask):
    """BasicIRSTD's and pyirstdmetrics' centroid: the mean (row, col) of the
    component's pixels in the whole image (skimage's ``regionprops``)."""
    return np.mean(np.argwhere(mask).astype(np.float64), axis=0)


def test_exact_3_px_ties_are_decided_like_the_field():
    # One small target per image, its copy shifted by exactly 3 px along
    # one axis. Its centroid is a mean like 31/3, so the distance is 3 give
    # or take a bit, and the field's arithmetic on whole-image centroids
    # decides: matched in some images, not in others.
    rng = np.random.default_rng(0)
    shapes = [np.array(s, dtype=bool) for s in (
        [[1, 0], [1, 1]], [[1, 1, 1], [0, 1, 0]], [[0, 1], [1, 1], [1, 0]],
        [[1, 1, 0], [0, 1, 1], [0, 0, 1]])]
    outcomes = []
    for k in range(240):
        shape = shapes[k % len(shapes)]
        gt = np.zeros((48, 160), dtype=bool)
        y, x = rng.integers(4, 40), rng.integers(4, 150)
        gt[y:y + shape.shape[0], x:x + shape.shape[1]] = shape
        dy, dx = [(0, 3), (0, -3), (3, 0), (-3, 0)][k // len(shapes) % 4]
        pred = np.roll(gt, (dy, dx), axis=(0, 1))
        expected = np.linalg.norm(
            field_centroid(pred) - field_centroid(gt)) < 3
        m = match_mask_targets(pred, gt)
        assert m.num_detected == expected, (k, y, x, dy, dx)
        assert m.false_pixels == (0 if expected else pred.sum())
        outcomes.append(expected)
    # Both ways occur: the test tells the field's rounding from any other.
    assert 0 < sum(outcomes) < len(outcomes)


def test_centroids_are_those_of_the_whole_image():
    first = canvas((slice(10, 12), slice(5, 6)), (slice(11, 12), slice(6, 7)))
    second = canvas((slice(15, 16), slice(17, 20)))
    # Labelled in a cut-out whose pixel (0, 0) is the image's (x 4, y 9).
    areas, centroids = mask_components((first | second)[9:, 4:], (4, 9))
    assert areas.tolist() == [3, 3]
    # (x, y) here, (row, col) there; equal to the last bit.
    assert centroids.tolist() == [
        field_centroid(first)[::-1].tolist(),
        field_centroid(second)[::-1].tolist()
    ]


def test_a_target_takes_the_first_component_in_reach_not_the_nearest():
    gt = canvas((slice(10, 11), slice(10, 11)))
    # A: 2 px above (first in raster order); B: on the target itself.
    pred = canvas((slice(8, 9), slice(10, 11)), (slice(10, 11), slice(10, 11)))
    m = match_mask_targets(pred, gt)
    # BasicIRSTD's loop matches A; B, though exact, is a false alarm.
    assert (m.num_targets, m.num_detected, m.false_pixels) == (1, 1, 1)
    assert (m.intersection, m.union) == (1, 2)


def test_touching_targets_are_one_component():
    # Two 2x2 targets touching at a corner are one 8-connected component.
    gt = canvas((slice(2, 4), slice(2, 4)), (slice(4, 6), slice(4, 6)))
    areas, centroids = mask_components(gt)
    assert areas.tolist() == [8]
    np.testing.assert_allclose(centroids, [[3.5, 3.5]])


def test_every_unmatched_component_counts_as_false_pixels():
    gt = canvas((slice(2, 4), slice(2, 4)))
    # The 2x2 on the target matches; an unmatched 2x2 elsewhere has the same
    # area. BasicIRSTD drops unmatched components whose area *value* equals a
    # matched one's (so it would count 0 false pixels here); we count 4.
    pred = canvas((slice(2, 4), slice(2, 4)), (slice(12, 14), slice(12, 14)))
    m = match_mask_targets(pred, gt)
    assert (m.num_detected, m.false_pixels) == (1, 4)
    assert basicirstd(pred, gt)[2] == 0


def test_boxes_fill_the_pixels_of_the_ground_truth_convention():
    # Box [x1, y1, x2, y2] = [2, 3, 4, 3]: columns 2..4, row 3.
    mask = boxes_to_mask(np.array([[2., 3., 4., 3.], [18.6, 0, 30, 0.4]]),
                         (6, 20))
    assert mask.sum() == 3 + 1
    assert mask[3, 2:5].all() and mask[0, 19]


def sample(gt_mask, **pred):
    """A data sample with one ground-truth target per component."""
    height, width = gt_mask.shape
    pred.setdefault('bboxes', torch.zeros((0, 4)))
    pred.setdefault('scores', torch.zeros(len(pred['bboxes'])))
    pred['labels'] = torch.zeros(len(pred['scores']), dtype=torch.long)
    return dict(
        ori_shape=(height, width),
        img_path='img.png',
        gt_instances=dict(
            bboxes=torch.zeros((0, 4)),
            labels=torch.zeros(0, dtype=torch.long)),
        gt_target_mask=dict(data=torch.from_numpy(gt_mask[None])),
        pred_instances=pred)


def evaluate(samples, **kwargs):
    metric = DenseSIRSTMetric(mask_metrics=True, **kwargs)
    metric.dataset_meta = META
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_metric_over_two_images_by_hand():
    # Image 1: a 3x3 target, a box covering its left 2 columns (IoU 6/9)
    # plus a false 2x2 box; a low-scored box is not kept.
    gt1 = canvas((slice(5, 8), slice(5, 8)))
    boxes1 = torch.tensor([[5., 5., 6., 7.], [15., 15., 16., 16.],
                           [0., 0., 3., 3.]])
    scores1 = torch.tensor([0.9, 0.8, 0.1])
    # Image 2: two targets (1 px and 2 px), a predicted mask finding the
    # first only.
    gt2 = canvas((slice(1, 2), slice(1, 2)), (slice(10, 11), slice(10, 12)))
    pred2 = canvas((slice(1, 2), slice(1, 3)))
    figures = evaluate([
        sample(gt1, bboxes=boxes1, scores=scores1),
        sample(gt2, masks=torch.from_numpy(pred2[None]),
               scores=torch.tensor([0.5]), bboxes=torch.zeros((1, 4)))
    ])
    # IoU: (6 + 1) / (13 + 4); nIoU: (6/13 + 1/4) / 2.
    assert figures['mask_IoU'] == pytest.approx(7 / 17)
    assert figures['mask_nIoU'] == pytest.approx((6 / 13 + 1 / 4) / 2)
    # Pd: 2 of 3 targets; Fa: the 4 false pixels of image 1 over 800 pixels.
    assert figures['mask_Pd'] == pytest.approx(2 / 3)
    assert figures['mask_Fa_per_mpixel'] == pytest.approx(4 / 800 * 1e6)


def test_predicted_target_map_plugs_in_and_empty_images_count_zero():
    gt = canvas((slice(4, 6), slice(4, 6)))
    figures = evaluate([
        dict(sample(gt), pred_target_mask=dict(
            data=torch.from_numpy(gt[None]).to(torch.uint8))),
        sample(np.zeros((20, 20), dtype=bool)),
    ])
    assert figures['mask_IoU'] == 1.0 and figures['mask_Pd'] == 1.0
    # An image with neither target nor predicted pixels has IoU 0, as in
    # ACM/DNANet's nIoU (which divides by union + eps).
    assert figures['mask_nIoU'] == 0.5
    assert figures['mask_Fa_per_mpixel'] == 0.0


def test_missing_target_mask_is_named():
    bad = sample(np.zeros((4, 4), dtype=bool))
    del bad['gt_target_mask']
    with pytest.raises(ValueError, match='img.png: no gt_target_mask'):
        evaluate([bad])


def basicirstd(pred, gt):
    """BasicIRSTD's PD_FA.update, transcribed with scipy for one image:
    (targets, detected, false pixels by its area-value rule)."""
    eight = np.ones((3, 3), dtype=int)
    gt_labels, num_gt = ndimage.label(gt, eight)
    pred_labels, num_pred = ndimage.label(pred, eight)
    ids = range(1, num_pred + 1)
    preds = [(np.array(c), a) for c, a in zip(
        ndimage.center_of_mass(pred, pred_labels, ids),
        ndimage.sum(pred, pred_labels, ids))]
    all_areas = [a for _, a in preds]
    matched_areas, detected = [], 0
    for centroid in ndimage.center_of_mass(gt, gt_labels,
                                           range(1, num_gt + 1)):
        for m, (c, area) in enumerate(preds):
            if np.linalg.norm(c - np.array(centroid)) < 3:
                detected += 1
                matched_areas.append(area)
                del preds[m]
                break
    false_by_value = sum(a for a in all_areas if a not in matched_areas)
    return num_gt, detected, false_by_value, preds


def test_random_masks_equal_basicirstd():
    rng = np.random.default_rng(0)
    compared = 0
    for _ in range(200):
        gt = rng.random((40, 40)) < 0.03
        gt = ndimage.binary_dilation(gt, iterations=int(rng.integers(0, 2)))
        # Predictions: the targets shifted by up to 2 px, plus noise.
        shift = rng.integers(-2, 3, size=2)
        pred = np.roll(gt, tuple(shift), axis=(0, 1)) | (rng.random(
            (40, 40)) < 0.01)
        ours = match_mask_targets(pred, gt)
        targets, detected, false_by_value, unmatched = basicirstd(pred, gt)
        assert (ours.num_targets, ours.num_detected) == (targets, detected)
        assert ours.false_pixels == sum(a for _, a in unmatched)
        if ours.false_pixels == false_by_value:
            compared += 1
    # Most images have no area-value collision: there both Fa agree too.
    assert compared > 100

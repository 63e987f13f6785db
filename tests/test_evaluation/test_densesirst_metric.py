"""DenseSIRSTMetric against hand-computed values and against mmdet."""
import math

import numpy as np
import pytest
import torch
from mmdet.evaluation import VOCMetric

from bafenet.evaluation import DenseSIRSTMetric

META = dict(classes=('Target', ), seg_classes=('others', 'sky'))


def sample(gt, pred=(), scores=(), shape=(100, 100), gt_seg=None,
           pred_seg=None):
    """A data sample as the evaluator receives it (``to_dict`` form)."""
    gt = torch.tensor(gt, dtype=torch.float32).reshape(-1, 4)
    pred = torch.tensor(pred, dtype=torch.float32).reshape(-1, 4)
    out = dict(
        ori_shape=shape,
        gt_instances=dict(
            bboxes=gt, labels=torch.zeros(len(gt), dtype=torch.long)),
        ignored_instances=dict(
            bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long)),
        pred_instances=dict(
            bboxes=pred,
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.zeros(len(pred), dtype=torch.long)))
    if gt_seg is not None:
        out['gt_sem_seg'] = dict(sem_seg=torch.tensor(gt_seg)[None])
        out['pred_sem_seg'] = dict(
            sem_seg=torch.tensor(pred_seg, dtype=torch.uint8)[None])
    return out


def evaluate(samples, **kwargs):
    metric = DenseSIRSTMetric(**kwargs)
    metric.dataset_meta = META
    metric.process({}, samples)
    return metric.evaluate(len(samples))


TARGETS = [[10, 10, 12, 12], [50, 60, 53, 63]]


def test_perfect_predictions():
    m = evaluate([sample(TARGETS, TARGETS, [0.9, 0.8])])
    for key in ('mAP07', 'mAP12', 'recall07', 'recall12', 'precision',
                'recall', 'F1', 'best_F1', 'Pd'):
        assert m[key] == pytest.approx(1.), key
    assert m['best_F1_thr'] == pytest.approx(0.8)
    assert m['Fa_per_image'] == 0 and m['Fa_per_mpixel'] == 0
    assert m['score_thr'] == 0.3 and m['centroid_dist'] == 3
    assert 'sky_mIoU' not in m


def test_no_predictions():
    m = evaluate([sample(TARGETS), sample([[5, 5, 7, 7]])])
    for key in ('mAP07', 'mAP12', 'recall07', 'recall12', 'precision',
                'recall', 'F1', 'best_F1', 'Pd', 'Fa_per_image',
                'Fa_per_mpixel'):
        assert m[key] == 0, key
    assert math.isnan(m['best_F1_thr'])
    # Only false boxes: no threshold is best either.
    m = evaluate([sample(TARGETS, [[80, 20, 83, 23]], [0.7])])
    assert m['best_F1'] == 0 and math.isnan(m['best_F1_thr'])
    assert m['Fa_per_image'] == 1


def test_one_false_alarm():
    # A 4x4 px false box (legacy +1 convention) far from both targets.
    m = evaluate([sample(TARGETS, TARGETS + [[80, 20, 83, 23]],
                         [0.9, 0.8, 0.5])])
    assert m['mAP07'] == pytest.approx(1.) and m['mAP12'] == pytest.approx(1.)
    assert m['precision'] == pytest.approx(2 / 3)
    assert m['recall'] == pytest.approx(1.)
    assert m['F1'] == pytest.approx(0.8)
    assert m['best_F1'] == pytest.approx(1.)
    assert m['best_F1_thr'] == pytest.approx(0.8)
    assert m['Pd'] == pytest.approx(1.)
    assert m['Fa_per_image'] == pytest.approx(1.)
    assert m['Fa_per_mpixel'] == pytest.approx(16 / 100**2 * 1e6)
    # Below score_thr the false alarm does not count.
    m = evaluate([sample(TARGETS, TARGETS + [[80, 20, 83, 23]],
                         [0.9, 0.8, 0.2])])
    assert m['precision'] == pytest.approx(1.) and m['Fa_per_image'] == 0


def test_two_predictions_on_one_target():
    box = [[20, 20, 23, 23]]
    m = evaluate([sample(box, box + [[20, 21, 23, 24]], [0.9, 0.8])])
    # IoU matching: the second box is a duplicate, a false positive.
    assert m['precision'] == pytest.approx(0.5)
    assert m['recall'] == pytest.approx(1.)
    assert m['F1'] == pytest.approx(2 / 3)
    # Centroid matching: one match per target; the other is a false alarm
    # whose 4x4 box counts, all of it.
    assert m['Pd'] == pytest.approx(1.)
    assert m['Fa_per_image'] == pytest.approx(1.)
    assert m['Fa_per_mpixel'] == pytest.approx(16 / 100**2 * 1e6)


def test_target_on_the_border():
    gt = [[0, 40, 2, 43]]  # centre (1, 41.5)
    near = [-2, 39, 5, 44]  # centre (1.5, 41.5): 0.5 px away
    m = evaluate([sample(gt, [near], [0.9])])
    assert m['Pd'] == 1 and m['Fa_per_image'] == 0
    far = [-3, 40, 1, 43]  # centre (-1, 41.5): 2 px away, in reach
    assert evaluate([sample(gt, [far], [0.9])])['Pd'] == 1
    too_far = [-6, 40, 0, 43]  # centre (-3, 41.5): 4 px away
    m = evaluate([sample(gt, [too_far], [0.9])])
    assert m['Pd'] == 0 and m['Fa_per_image'] == 1
    # Only the columns inside the image count: x in [0, 0], y in [40, 43].
    assert m['Fa_per_mpixel'] == pytest.approx(4 / 100**2 * 1e6)


def test_centroid_distance_is_inclusive_and_configurable():
    gt = [[10, 10, 12, 12]]  # centre (11, 11)
    pred = [[13, 10, 15, 12]]  # centre (14, 11): exactly 3 px
    assert evaluate([sample(gt, pred, [0.9])])['Pd'] == 1
    assert evaluate([sample(gt, pred, [0.9])], centroid_dist=2.9)['Pd'] == 0


def test_11_points_and_area_differ():
    # Two targets; the best-scored box is false, the second finds one target.
    m = evaluate([sample(TARGETS, [[80, 80, 82, 82], TARGETS[0]],
                         [0.9, 0.8])])
    # Area: precision 0.5 up to recall 0.5. 11 points: the six recall points
    # 0, 0.1, ..., 0.5 see precision 0.5.
    assert m['mAP12'] == pytest.approx(0.25)
    assert m['mAP07'] == pytest.approx(3 / 11)
    assert m['recall07'] == m['recall12'] == pytest.approx(0.5)
    # The best F1 keeps both boxes: P = 0.5, R = 0.5.
    assert m['best_F1'] == pytest.approx(0.5)
    assert m['best_F1_thr'] == pytest.approx(0.8)


def test_sky_figures():
    gt_seg = np.array([[1, 1, 0, 0], [1, 1, 0, 255]], dtype=np.uint8)
    pred_seg = np.array([[1, 0, 0, 0], [1, 1, 1, 1]], dtype=np.uint8)
    m = evaluate([sample(TARGETS, TARGETS, [0.9, 0.9], shape=(2, 4),
                         gt_seg=gt_seg, pred_seg=pred_seg)])
    # Ignoring the 255 pixel: sky intersect 3, union 4 + 4 - 3 = 5;
    # others intersect 2, union 3 + 3 - 2 = 4.
    assert m['sky_IoU'] == pytest.approx(3 / 5)
    assert m['others_IoU'] == pytest.approx(2 / 4)
    assert m['sky_mIoU'] == pytest.approx((3 / 5 + 2 / 4) / 2)
    assert m['sky_pixel_acc'] == pytest.approx(5 / 7)


def test_sky_class_absent_from_both_maps_has_no_iou():
    all_sky = np.ones((2, 4), dtype=np.uint8)
    m = evaluate([sample(TARGETS, shape=(2, 4), gt_seg=all_sky,
                         pred_seg=all_sky)])
    assert m['sky_IoU'] == 1 and m['sky_pixel_acc'] == 1
    assert math.isnan(m['others_IoU'])
    assert m['sky_mIoU'] == 1  # the mean over the classes with an IoU


def test_sky_map_size_mismatch_names_the_image():
    s = sample(TARGETS, shape=(2, 4), gt_seg=np.zeros((2, 4), np.uint8),
               pred_seg=np.zeros((2, 5), np.uint8))
    s['img_path'] = 'PNGImages/x.png'
    metric = DenseSIRSTMetric()
    metric.dataset_meta = META
    with pytest.raises(ValueError, match='x.png.*differ in size'):
        metric.process({}, [s])


def test_ap_equals_mmdet_voc_metric():
    """Random clustered boxes: AP and recall equal mmdet's VOCMetric."""
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(12):
        centres = rng.uniform(5, 95, (rng.integers(0, 15), 2))
        gt = np.hstack([centres - 2, centres + 2])
        noisy = np.vstack([gt + rng.normal(0, 1.2, gt.shape),
                           rng.uniform(0, 95, (rng.integers(0, 6), 4))])
        noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2] + 1)
        samples.append(sample(gt, noisy, rng.uniform(0.05, 1, len(noisy))))
    ours = evaluate(samples)
    for key, mode in (('07', '11points'), ('12', 'area')):
        voc = VOCMetric(metric='mAP', eval_mode=mode)
        voc.dataset_meta = META
        voc.process({}, samples)
        expected = voc.evaluate(len(samples))
        assert ours[f'mAP{key}'] == pytest.approx(
            expected['pascal_voc/mAP'], abs=1e-6)
    assert 0 < ours['mAP12'] < 1 and 0 < ours['Pd'] < 1


def test_shared_box_convention_leaves_every_figure_unchanged(real_root):
    """Ground truth and predictions in the same box convention give the
    same figures: DenseSIRST's ``box_convention='pixel'`` boxes are its
    ``'voc'`` boxes moved by one pixel, and predictions moved with them
    score the same to 1e-9."""
    from bafenet.datasets import DenseSIRSTDataset
    truths = {
        convention: DenseSIRSTDataset(
            data_root=str(real_root), ann_file='Splits/test_v2.txt',
            pipeline=[], test_mode=True, indices=16,
            box_convention=convention)
        for convention in ('voc', 'pixel')
    }
    rng = np.random.default_rng(0)
    samples = {'voc': [], 'pixel': []}
    for info_voc, info_pixel in zip(truths['voc'], truths['pixel']):
        gt_voc = np.array([inst['bbox'] for inst in info_voc['instances']])
        gt_pixel = np.array(
            [inst['bbox'] for inst in info_pixel['instances']])
        np.testing.assert_array_equal(gt_pixel, gt_voc + 1)
        found = gt_voc[rng.random(len(gt_voc)) < 0.8]
        found = found + rng.uniform(-0.7, 0.7, found.shape)
        h, w = info_voc['height'], info_voc['width']
        corners = rng.uniform(0, [w - 6, h - 6], (5, 2))
        alarms = np.hstack([corners, corners + rng.uniform(2, 6, (5, 2))])
        pred = np.vstack([found, alarms])
        scores = rng.random(len(pred))
        shape = (h, w)
        samples['voc'].append(sample(gt_voc, pred, scores, shape))
        samples['pixel'].append(sample(gt_pixel, pred + 1, scores, shape))
    voc, pixel = evaluate(samples['voc']), evaluate(samples['pixel'])
    assert voc.keys() == pixel.keys()
    assert 0.2 < voc['mAP07'] < 0.95  # neither trivial nor perfect
    for key in voc:
        assert pixel[key] == pytest.approx(voc[key], abs=1e-9), key


def test_ap_by_target_size():
    # Targets of 4, 16 and 36 px, one per size bin (s < 9 <= m < 25 <= l).
    small, medium, large = [10, 10, 12, 12], [30, 30, 34, 34], [50, 50, 56, 56]
    false_small = [[80, 80, 82, 82], [90, 10, 92, 12]]
    m = evaluate([
        sample([small, medium, large], [false_small[0], small, large] +
               false_small[1:], [0.95, 0.9, 0.8, 0.7])
    ])
    assert (m['num_gts_s'], m['num_gts_m'], m['num_gts_l']) == (1, 1, 1)
    # s: false (0.95), true (0.9), false (0.7); the large box is not s's.
    assert m['recall07_s'] == pytest.approx(1.)
    assert m['mAP07_s'] == pytest.approx(0.5)
    # m: its target missed; the small false boxes are not m's false alarms.
    assert m['mAP07_m'] == 0 and m['recall07_m'] == 0
    # l: found, and no false box of its size.
    assert m['mAP07_l'] == pytest.approx(1.) and m['recall07_l'] == 1
    # Over all sizes the small false boxes count: 7 of 11 recall points.
    assert m['mAP07'] == pytest.approx(7 / 11 * 2 / 3)
    assert 'mAP07_s' not in evaluate([sample([small], [small], [0.9])],
                                     size_bins=None)

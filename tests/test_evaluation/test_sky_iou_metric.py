"""mmseg's IoUMetric (as SkyIoUMetric) and DenseSIRSTMetric give the same
sky figures on the real test_v2 sky maps."""
import numpy as np
import pytest
import torch
from PIL import Image

from bafenet.datasets import DenseSIRSTDataset
from bafenet.evaluation import DenseSIRSTMetric
from bafenet.registry import METRICS

NO_BOXES = dict(bboxes=torch.zeros((0, 4)), labels=torch.zeros(
    0, dtype=torch.long), scores=torch.zeros(0))


def predicted_sky(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible prediction: the annotated sky 6 px lower, 3% of the
    pixels flipped, unlabelled pixels (255) predicted as others."""
    pred = np.roll(gt, 6, axis=0)
    pred[:6] = pred[6]
    pred = np.where(pred == 255, 0, pred)
    flip = rng.random(pred.shape) < 0.03
    return np.where(flip, 1 - pred, pred).astype(np.uint8)


def test_mmseg_iou_metric_equals_ours_on_test_v2(real_root):
    # Every 16th test_v2 image (mmseg counts a 1280x1024 map in about 0.3 s
    # on a 2-core CPU); compare_on(real_root, all ids) checks all 256.
    ids = (real_root / 'Splits/test_v2.txt').read_text().split()[::16]
    compare_on(real_root, ids)


def compare_on(real_root, ids):
    """Assert that SkyIoUMetric and DenseSIRSTMetric agree on the sky maps
    of ``ids`` against :func:`predicted_sky` predictions."""
    meta = DenseSIRSTDataset.METAINFO
    ours = DenseSIRSTMetric()
    mmseg = METRICS.build(dict(type='SkyIoUMetric', iou_metrics=['mIoU']))
    ours.dataset_meta = mmseg.dataset_meta = meta
    rng = np.random.default_rng(0)
    for i in ids:
        gt = np.asarray(Image.open(real_root / f'SkySeg/PaletteMask/{i}.png'))
        gt_t = torch.from_numpy(gt[None].copy())
        pred_t = torch.from_numpy(predicted_sky(gt, rng)[None])
        sample = dict(
            img_path=f'{i}.png',
            ori_shape=gt.shape,
            gt_instances=NO_BOXES,
            pred_instances=NO_BOXES,
            gt_sem_seg=dict(sem_seg=gt_t, data=gt_t),
            pred_sem_seg=dict(sem_seg=pred_t, data=pred_t))
        ours.process({}, [sample])
        mmseg.process({}, [sample])
    figures = ours.compute_metrics(ours.results)
    theirs = mmseg.compute_metrics(mmseg.results)
    # mmseg reports percent, rounded to 2 decimals; its areas are float32
    # histograms, so compare its per-class IoU from the same areas closely.
    assert theirs['mIoU'] == round(figures['sky_mIoU'] * 100, 2)
    assert theirs['aAcc'] == round(figures['sky_pixel_acc'] * 100, 2)
    areas = [sum(r[k] for r in mmseg.results) for k in range(4)]
    iou = (areas[0] / areas[1]).double().numpy()
    assert iou == pytest.approx(
        [figures['others_IoU'], figures['sky_IoU']], rel=1e-6)
    assert 0.5 < figures['sky_IoU'] < 1.0
    # SkyIoUMetric counted the sky classes, not the box classes.
    assert mmseg.dataset_meta['classes'] == ('others', 'sky')
    assert len(areas[0]) == 2

"""Every figure the field reports for DenseSIRST, from one evaluation run."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmseg.evaluation import IoUMetric

from bafenet.registry import METRICS
from ..functional import (MatchedDetections, boxes_to_mask, best_f1,
                          concat_matches, match_detections, match_mask_targets,
                          match_targets, prf1_at, voc_ap)


#: Target sizes of ``mAP07_<name>``: pixel areas in ``[min, max)``, the
#: 2-6 px targets of DenseSIRST split at 3x3 and 5x5.
SIZE_BINS = OrderedDict(s=(0., 9.), m=(9., 25.), l=(25., float('inf')))

#: The ignored instances of a sample that has none.
NO_IGNORED = dict(
    bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))


@METRICS.register_module()
class DenseSIRSTMetric(BaseMetric):
    """Box AP, precision/recall/F1, target Pd/Fa, sky segmentation quality
    and the mask metrics of the infrared small-target field.

    All figures come from one pass over the predictions (see
    ``docs/evaluation.md`` for the exact definitions):

    - ``mAP07``/``recall07`` and ``mAP12``/``recall12``: VOC AP at
      ``iou_thr`` with 11-point (VOC2007) and area (VOC2012) interpolation,
      computed by mmdet's ``tpfp_default`` and ``average_precision`` with the
      legacy ``+1`` coordinates, as mmdet's ``VOCMetric``; the recall is the
      one reached with all detections. Means over the classes with ground
      truth.
    - ``mAP07_<bin>``, ``recall07_<bin>`` and ``num_gts_<bin>`` for each
      target size of ``size_bins``: the same figures with only the targets
      whose box covers ``[min, max)`` pixels, ground truth of other sizes
      and unmatched detections of other sizes ignored (COCO's rule for its
      small/medium/large AP).
    - ``precision``, ``recall``, ``F1`` of the boxes (same IoU matching, all
      classes pooled) at ``score_thr``; ``best_F1`` and its threshold
      ``best_F1_thr``, with ``best_F1_precision`` and ``best_F1_recall``.
    - ``Pd``: the fraction of ground-truth targets whose box centre lies
      within ``centroid_dist`` px of the centre of a predicted box scoring
      ``>= score_thr`` (one match per target). ``Fa_per_image``: unmatched
      kept predictions per image. ``Fa_per_mpixel``: pixels covered by their
      boxes per 10^6 image pixels.
    - ``sky_IoU``, ``others_IoU``, their mean ``sky_mIoU`` and
      ``sky_pixel_acc`` of the predicted sky map (``pred_sem_seg``) against
      the annotated one, accumulated over the dataset: the pixel areas come
      from one confusion matrix per image and the figures from mmseg's
      ``IoUMetric.total_area_to_metrics`` (the dataset-level IoU of mmseg's
      ``IoUMetric``). Only for models with a sky branch.
    - With ``mask_metrics``: ``mask_IoU`` (dataset-level pixel IoU of the
      target masks), ``mask_nIoU`` (mean per-image IoU), ``mask_Pd`` and
      ``mask_Fa_per_mpixel`` by BasicIRSTD's definition (8-connected
      components, centroids less than ``mask_centroid_dist`` px apart;
      false pixels per 10^6 pixels), see
      :mod:`~bafenet.evaluation.functional.target_mask_metrics`. The
      predicted mask is ``pred_target_mask`` if the model writes one, else
      the union of ``pred_instances.masks`` scoring ``>= score_thr``, else
      the kept boxes (score ``>= score_thr``) filled. Needs
      ``gt_target_mask`` (``LoadDetSegAnnotations(with_target_mask=True)``
      and ``PackDetSegInputs`` in the test pipeline).

    Args:
        iou_thr (float): IoU of a box match. Defaults to 0.5.
        score_thr (float): Score threshold of precision/recall/F1 and of
            Pd/Fa. Defaults to 0.3.
        centroid_dist (float): Largest centroid distance (px, inclusive) of a
            target match. Defaults to 3.
        mask_metrics (bool): Compute the mask metrics. Defaults to False.
        mask_centroid_dist (float): The centroid distance (px, exclusive)
            of a mask component match. Defaults to 3 (BasicIRSTD's).
        size_bins (dict[str, tuple[float, float]], optional): Names and
            ``[min, max)`` pixel areas of the target sizes scored apart.
            Defaults to :data:`SIZE_BINS` (``s``: below 9 px, ``m``: 9 to
            24, ``l``: 25 and more); None or empty: none.
        collect_device (str): Device for gathering results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names, as
            ``prefix/mAP07``. Defaults to None (plain names).
    """
    # Not None, so that mmengine does not warn; empty, so that the names
    # stay plain.
    default_prefix: Optional[str] = ''

    def __init__(self,
                 iou_thr: float = 0.5,
                 score_thr: float = 0.3,
                 centroid_dist: float = 3.,
                 mask_metrics: bool = False,
                 mask_centroid_dist: float = 3.,
                 size_bins: Optional[Dict[str, Tuple[float,
                                                     float]]] = SIZE_BINS,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_thr = iou_thr
        self.score_thr = score_thr
        self.centroid_dist = centroid_dist
        self.mask_metrics = mask_metrics
        self.mask_centroid_dist = mask_centroid_dist
        self.size_bins = OrderedDict(size_bins or {})

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep what the metrics need of each sample, as numpy arrays.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Samples with ``gt_instances``,
                ``pred_instances``, ``ori_shape``; for the sky figures,
                ``gt_sem_seg`` and ``pred_sem_seg``; for the mask metrics,
                ``gt_target_mask``.
        """
        for sample in data_samples:
            gt = sample['gt_instances']
            ignored = sample.get('ignored_instances') or NO_IGNORED
            pred = sample['pred_instances']
            result = dict(
                img_shape=tuple(sample['ori_shape'][:2]),
                gt_bboxes=gt['bboxes'].cpu().numpy(),
                gt_labels=gt['labels'].cpu().numpy(),
                ignore_bboxes=ignored['bboxes'].cpu().numpy(),
                ignore_labels=ignored['labels'].cpu().numpy(),
                pred_bboxes=pred['bboxes'].cpu().numpy(),
                pred_scores=pred['scores'].cpu().numpy(),
                pred_labels=pred['labels'].cpu().numpy())
            if 'pred_sem_seg' in sample and 'gt_sem_seg' in sample:
                result['seg_confusion'] = self._seg_confusion(sample)
            if self.mask_metrics:
                result['mask_counts'] = self._mask_counts(sample, result)
            self.results.append(result)

    def _mask_counts(self, sample: dict, result: dict) -> tuple:
        """The :class:`MaskTargetMatches` counts of one sample, whose
        predicted boxes and scores ``result`` already holds on the host."""
        name = sample.get('img_path', 'a sample')
        if 'gt_target_mask' not in sample:
            raise ValueError(
                f'{name}: no gt_target_mask; mask_metrics=True needs a '
                'dataset with target masks and LoadDetSegAnnotations('
                'with_target_mask=True) and PackDetSegInputs in the test '
                'pipeline')
        gt = sample['gt_target_mask']['data'].squeeze(0).cpu().numpy() > 0
        pred = sample['pred_instances']
        keep = result['pred_scores'] >= self.score_thr
        if 'pred_target_mask' in sample:
            mask = sample['pred_target_mask']['data'].squeeze(0) > 0
        elif 'masks' in pred:
            masks = pred['masks'].cpu()[torch.from_numpy(keep)]
            mask = masks.any(dim=0) if len(masks) else torch.zeros(
                gt.shape, dtype=torch.bool)
        else:
            mask = boxes_to_mask(result['pred_bboxes'][keep], gt.shape)
        mask = torch.as_tensor(mask).cpu().numpy().astype(bool)
        if mask.shape != gt.shape:
            raise ValueError(
                f'{name}: predicted target mask {mask.shape} and annotated '
                f'target mask {gt.shape} differ in size')
        return tuple(match_mask_targets(mask, gt, self.mask_centroid_dist))

    def _seg_confusion(self, sample: dict) -> np.ndarray:
        """(C, C) pixel counts of (annotated, predicted) sky-map classes of
        one sample; annotated pixels outside the classes (255) are
        ignored."""
        pred = sample['pred_sem_seg']['sem_seg'].squeeze(0)
        gt = sample['gt_sem_seg']['sem_seg'].squeeze(0)
        if pred.shape != gt.shape:
            raise ValueError(
                f'{sample.get("img_path", "a sample")}: predicted sky map '
                f'{tuple(pred.shape)} and annotated sky map '
                f'{tuple(gt.shape)} differ in size')
        num_classes = len(self.dataset_meta['seg_classes'])
        gt, pred = gt.cpu().numpy(), pred.cpu().numpy()
        # count_nonzero over boolean masks: a few ms for a 1080p map with
        # the two sky classes (a bincount of gt * C + pred is ~10x slower).
        pred_masks = [pred == j for j in range(num_classes)]
        confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
        for i in range(num_classes):
            gt_mask = gt == i
            for j, pred_mask in enumerate(pred_masks):
                confusion[i, j] = np.count_nonzero(gt_mask & pred_mask)
        return confusion

    def compute_metrics(self, results: List[dict]) -> dict:
        """Compute every figure from the gathered per-image results.

        Args:
            results (list[dict]): Outputs of :meth:`process`, all ranks.

        Returns:
            dict: The figures, keyed as described in the class docstring.
        """
        metrics = OrderedDict()
        metrics.update(self._box_metrics(results))
        metrics.update(self._target_metrics(results))
        confusions = [
            r['seg_confusion'] for r in results if 'seg_confusion' in r
        ]
        if confusions:
            metrics.update(self._sky_metrics(np.sum(confusions, axis=0)))
        if self.mask_metrics:
            metrics.update(
                self._mask_metrics([r['mask_counts'] for r in results]))
        MMLogger.get_current_instance().info(
            '\n' + self.format_table(metrics, len(results)))
        return metrics

    def _box_metrics(self, results: List[dict]) -> dict:
        matches = self._match(results)
        metrics = OrderedDict()
        with_gt = [m for m in matches if m.num_gts > 0]
        for key, mode in (('07', '11points'), ('12', 'area')):
            metrics[f'mAP{key}'], metrics[f'recall{key}'] = _mean_ap(
                with_gt, mode)

        pooled = concat_matches(matches)
        at_thr = prf1_at(pooled, self.score_thr)
        best = best_f1(pooled)
        metrics.update(
            precision=at_thr.precision,
            recall=at_thr.recall,
            F1=at_thr.f1,
            score_thr=at_thr.score_thr,
            best_F1=best.f1,
            best_F1_thr=best.score_thr,
            best_F1_precision=best.precision,
            best_F1_recall=best.recall)
        for name, area_range in self.size_bins.items():
            in_bin = self._match(results, area_range)
            metrics[f'mAP07_{name}'], metrics[f'recall07_{name}'] = _mean_ap(
                [m for m in in_bin if m.num_gts > 0], '11points')
            metrics[f'num_gts_{name}'] = float(sum(m.num_gts for m in in_bin))
        return metrics

    def _match(self,
               results: List[dict],
               area_range: Optional[Tuple[float, float]] = None) -> list:
        """The :class:`MatchedDetections` of each class, over ``results``,
        of the targets within ``area_range`` (all if None)."""
        matches = []
        for label in range(len(self.dataset_meta['classes'])):
            dets = [
                np.hstack([
                    r['pred_bboxes'][r['pred_labels'] == label],
                    r['pred_scores'][r['pred_labels'] == label, None]
                ]) for r in results
            ]
            gts = [r['gt_bboxes'][r['gt_labels'] == label] for r in results]
            gts_ignore = [
                r['ignore_bboxes'][r['ignore_labels'] == label]
                for r in results
            ]
            matches.append(
                match_detections(dets, gts, gts_ignore, self.iou_thr,
                                 area_range))
        return matches

    def _target_metrics(self, results: List[dict]) -> dict:
        per_image = [
            match_targets(r['pred_bboxes'], r['pred_scores'], r['gt_bboxes'],
                          r['ignore_bboxes'], r['img_shape'], self.score_thr,
                          self.centroid_dist) for r in results
        ]
        counts = np.array(per_image, dtype=np.float64).sum(axis=0)
        targets, detected, false, false_pixels, pixels = counts
        return OrderedDict(
            Pd=detected / targets if targets else 0.,
            Fa_per_image=false / max(len(results), 1),
            Fa_per_mpixel=false_pixels / pixels * 1e6 if pixels else 0.,
            centroid_dist=float(self.centroid_dist))

    def _mask_metrics(self, counts: List[tuple]) -> dict:
        """Mask figures from the per-image :class:`MaskTargetMatches`."""
        counts = np.array(counts, dtype=np.float64).reshape(-1, 6)
        inter, union, targets, detected, false, pixels = counts.T
        # An image without target pixels predicted or annotated has IoU 0,
        # as in ACM/DNANet's nIoU (which divides by union + eps).
        per_image = np.divide(
            inter, union, out=np.zeros_like(inter), where=union > 0)
        return OrderedDict(
            mask_IoU=inter.sum() / union.sum() if union.sum() else 0.,
            mask_nIoU=float(per_image.mean()) if len(counts) else 0.,
            mask_Pd=detected.sum() / targets.sum() if targets.sum() else 0.,
            mask_Fa_per_mpixel=false.sum() / pixels.sum() *
            1e6 if pixels.sum() else 0.,
            mask_centroid_dist=float(self.mask_centroid_dist))

    def _sky_metrics(self, confusion: np.ndarray) -> dict:
        """Sky figures from the (C, C) confusion matrix of the dataset
        (rows: annotated class, columns: predicted class), by mmseg's
        ``IoUMetric.total_area_to_metrics``."""
        confusion = torch.from_numpy(confusion.astype(np.float64))
        intersect = confusion.diagonal()
        area_pred, area_label = confusion.sum(0), confusion.sum(1)
        figures = IoUMetric.total_area_to_metrics(
            intersect, area_pred + area_label - intersect, area_pred,
            area_label, ['mIoU'])
        # A class absent from both maps has no IoU (NaN, as in mmseg), and
        # the mean is over the classes that have one.
        iou = figures['IoU']
        names = self.dataset_meta['seg_classes']
        metrics = OrderedDict(
            (f'{name}_IoU', float(iou[i])) for i, name in enumerate(names))
        metrics['sky_mIoU'] = float(np.nanmean(iou)) if np.isfinite(
            iou).any() else float('nan')
        metrics['sky_pixel_acc'] = float(figures['aAcc'])
        return metrics

    def format_table(self, metrics: dict, num_images: int) -> str:
        """The figures as one text table, with the thresholds they used.

        Args:
            metrics (dict): Output of :meth:`compute_metrics`.
            num_images (int): Images evaluated.

        Returns:
            str: The table.
        """
        rows = [('images', str(num_images))]
        rows += [(key, f'{value:.4f}') for key, value in metrics.items()]
        rows.append(('iou_thr', f'{self.iou_thr:g}'))
        width = max(len(key) for key, _ in rows)
        rule = '-' * (width + 12)
        lines = [rule] + [f'{key:<{width}}  {value:>8}' for key, value in rows]
        return '\n'.join(lines + [rule])


def _mean_ap(matches: List[MatchedDetections], mode: str) -> tuple:
    """Mean VOC AP and recall over the classes of ``matches`` (0 if none).

    Args:
        matches (list[MatchedDetections]): One entry per class with ground
            truth.
        mode (str): ``'11points'`` or ``'area'``.

    Returns:
        tuple[float, float]: The mean AP and the mean recall.
    """
    if not matches:
        return 0., 0.
    aps, recalls = zip(*[voc_ap(m, mode) for m in matches])
    return float(np.mean(aps)), float(np.mean(recalls))

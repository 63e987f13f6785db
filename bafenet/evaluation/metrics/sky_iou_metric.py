"""mmseg's IoUMetric on the sky map of a detection dataset."""
from mmseg.evaluation import IoUMetric

from bafenet.registry import METRICS


@METRICS.register_module()
class SkyIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric``, counting the sky-map classes.

    mmseg's metric reads the classes from ``dataset_meta['classes']``, which
    for a detection dataset are the box classes (``('Target',)``: one class,
    so it would count only the ``others`` pixels). This metric gives it the
    sky-map classes (``seg_classes``) instead; everything else is mmseg's:
    it reads ``pred_sem_seg.data`` and ``gt_sem_seg.data`` (written by
    ``BAFENet.predict`` and ``PackDetSegInputs``), ignores ``ignore_index``
    pixels, prints mmseg's per-class table, returns ``aAcc``, ``mIoU``,
    ``mAcc`` (and ``mDice``, ``mFscore``... as ``iou_metrics`` asks) in
    percent, and with ``output_dir`` writes the predicted sky maps as PNGs.

    Example::

        test_evaluator = [
            dict(type='DenseSIRSTMetric'),
            dict(type='SkyIoUMetric', iou_metrics=['mIoU', 'mDice']),
        ]

    Args:
        prefix (str, optional): Prefix of the metric names. Defaults to
            ``'sky'`` (``sky/mIoU``), apart from ``DenseSIRSTMetric``'s.
        **kwargs: Arguments of mmseg's ``IoUMetric``.
    """
    default_prefix = 'sky'

    @property
    def dataset_meta(self) -> dict:
        """The dataset's metainfo, with ``classes`` and ``palette`` those of
        the sky map."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        meta = dict(dataset_meta)
        meta['classes'] = meta['seg_classes']
        if 'seg_palette' in meta:
            meta['palette'] = meta['seg_palette']
        self._dataset_meta = meta

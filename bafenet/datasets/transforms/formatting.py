"""Packing of detection samples whose maps mmseg can read too."""
from mmcv.transforms import to_tensor
from mmdet.datasets.transforms import PackDetInputs
from mmengine.structures import PixelData

from bafenet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackDetSegInputs(PackDetInputs):
    """mmdet's ``PackDetInputs``, with the maps also under mmseg's keys.

    - ``gt_sem_seg`` (the sky map) keeps mmdet's ``sem_seg`` and gains
      mmseg's ``data``, the same tensor, so that mmseg's ``IoUMetric`` and
      ``SegLocalVisualizer`` read it as they read a ``SegDataSample``.
    - ``gt_target_mask`` (loaded by ``LoadDetSegAnnotations(
      with_target_mask=True)``) becomes the field ``gt_target_mask``:
      ``PixelData`` with ``data`` (1, H, W) bool, for the mask metrics of
      ``DenseSIRSTMetric``.

    Args:
        **kwargs: Arguments of mmdet's ``PackDetInputs`` (``meta_keys``).
    """

    def transform(self, results: dict) -> dict:
        """Pack the inputs and annotations.

        Args:
            results (dict): Result dict from the data pipeline.

        Returns:
            dict: ``inputs`` and ``data_samples`` (a ``DetDataSample``).
        """
        packed = super().transform(results)
        sample = packed['data_samples']
        if 'gt_sem_seg' in sample:
            sample.gt_sem_seg.data = sample.gt_sem_seg.sem_seg
        if 'gt_target_mask' in results:
            sample.gt_target_mask = PixelData(
                data=to_tensor(results['gt_target_mask'][None].copy()))
        return packed

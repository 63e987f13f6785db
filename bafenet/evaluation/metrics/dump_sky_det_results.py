"""Dump predictions for offline evaluation, without full-size float maps."""
from typing import Sequence

from mmdet.evaluation import DumpDetResults

from bafenet.registry import METRICS


@METRICS.register_module()
class DumpSkyDetResults(DumpDetResults):
    """mmdet's ``DumpDetResults`` that also drops what offline evaluation
    does not need from each sample: the annotated sky map (``gt_sem_seg``,
    reloaded from the dataset), the target mask (``gt_target_mask``, also
    reloaded) and the sky probability (``pred_sem_seg.sky_prob``, float32 at
    the original size); the predicted sky labels stay, as ``sem_seg``
    (uint8) and mmseg's ``data``, one tensor stored once.

    Over ``test_v2`` the sky probabilities alone would be most of the file
    (4 bytes per pixel of every image).

    Args:
        out_file_path (str): The ``.pkl`` file to write.
        collect_device (str): Device for gathering results across ranks.
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the predictions of a batch, without the float sky map."""
        for sample in data_samples:
            sample = dict(sample)
            sample.pop('gt_sem_seg', None)
            sample.pop('gt_target_mask', None)
            if 'pred_sem_seg' in sample:
                sample['pred_sem_seg'] = {
                    key: value
                    for key, value in sample['pred_sem_seg'].items()
                    if key != 'sky_prob'
                }
            super().process(data_batch, [sample])
            sky = self.results[-1].get('pred_sem_seg')
            if sky is not None and 'data' in sky:
                # Moved to the CPU field by field, the alias became a copy.
                sky['data'] = sky['sem_seg']

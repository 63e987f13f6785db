"""The detector of FCOS-Seg and BAFE-Net: boxes plus a sky map."""
import torch
from mmdet.models.detectors import FCOS
from mmdet.structures import SampleList
from mmengine.structures import PixelData
from torch import Tensor

from bafenet.registry import MODELS


@MODELS.register_module()
class BAFENet(FCOS):
    """FCOS whose head also segments the sky (:class:`FCOSSegHead` or
    :class:`BAFEHead`).

    Training goes through mmdet's ``loss``: the head reads ``gt_sem_seg``
    from the data samples (the data preprocessor must pad it, ``pad_seg=True``
    with ``seg_pad_value=255``). Prediction returns, per image,
    ``pred_instances`` (``bboxes``, ``scores``, ``labels``) and
    ``pred_sem_seg`` with ``sem_seg`` (1, H, W) labels (1 sky, 0 others),
    ``data`` (the same tensor, under the key mmseg's ``SegDataSample``
    uses, so that mmseg's ``IoUMetric`` and visualiser read it) and
    ``sky_prob`` (1, H, W) probabilities, at the original image size when
    ``rescale``.

    Args:
        sky_thr (float): Probability above which a pixel is labelled sky.
        **kwargs: Arguments of mmdet's ``FCOS``.
    """

    def __init__(self, *args, sky_thr: float = 0.5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sky_thr = sky_thr

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Boxes and sky maps of a batch of images (B, 3, H, W)."""
        x = self.extract_feat(batch_inputs)
        results, sky_probs = self.bbox_head.predict(
            x, batch_data_samples, rescale=rescale)
        batch_data_samples = self.add_pred_to_datasample(
            batch_data_samples, results)
        for sample, prob in zip(batch_data_samples, sky_probs):
            labels = (prob > self.sky_thr).to(torch.uint8)
            sample.pred_sem_seg = PixelData(
                sem_seg=labels, data=labels, sky_prob=prob)
        return batch_data_samples

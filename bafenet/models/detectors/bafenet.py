"""The detector of FCOS-Seg and BAFE-Net: boxes plus a sky map."""
import math
from typing import Dict, List, Tuple

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

    Prediction does not depend on the batch: see :meth:`predict`.

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
        """Boxes and sky maps of a batch of images, each as if alone.

        The data preprocessor pads the images of a batch to the largest
        one. Padding with a value that looks like the frame does not help:
        mmengine pads after normalising, so padded pixels already hold the
        normalised mean (0), and still their flat edge against the frame is
        a step the network answers, and the features of every location
        whose receptive field reaches the padding change (the demo model
        from random weights, 249x249 test_v2 frame Misc_13 batched with a
        640x512 one: best score 0.28 alone, 0.54 padded, 5 boxes >= 0.3
        instead of 0). Dropping the boxes whose centre lies in the padding
        would leave the boxes inside the frame changed. So each image runs
        on its own padded size instead: the images are grouped by the size
        the preprocessor gives an image alone (``img_shape`` rounded up to
        its ``pad_size_divisor``) and each group runs on its crop of the
        batch. A batch of equal sizes is one group, as before; results then
        equal batch size 1 up to float rounding.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) padded, normalised images.
            batch_data_samples (list[DetDataSample]): Their samples, with
                ``img_shape`` (h, w) and ``batch_input_shape``.
            rescale (bool): Map predictions to ``ori_shape``.

        Returns:
            list[DetDataSample]: The samples with ``pred_instances`` and
            ``pred_sem_seg``.
        """
        groups = self.own_size_groups(batch_data_samples)
        if list(groups) == [tuple(batch_inputs.shape[-2:])]:
            return self.predict_group(batch_inputs, batch_data_samples,
                                      rescale)
        for (height, width), indices in groups.items():
            samples = [batch_data_samples[i] for i in indices]
            for sample in samples:
                sample.set_metainfo(dict(batch_input_shape=(height, width)))
            self.predict_group(batch_inputs[indices, :, :height, :width],
                               samples, rescale)
        return batch_data_samples

    def own_size_groups(
            self, batch_data_samples: SampleList) -> Dict[Tuple[int, int],
                                                          List[int]]:
        """The batch's images by the (H, W) the data preprocessor pads an
        image alone to.

        Args:
            batch_data_samples (list[DetDataSample]): With ``img_shape``.

        Returns:
            dict: ``(H, W)`` to the indices of the images of that size.
        """
        divisor = getattr(self.data_preprocessor, 'pad_size_divisor', 1)
        groups = {}
        for index, sample in enumerate(batch_data_samples):
            size = tuple(
                math.ceil(side / divisor) * divisor
                for side in sample.img_shape[:2])
            groups.setdefault(size, []).append(index)
        return groups

    def predict_group(self, batch_inputs: Tensor,
                      batch_data_samples: SampleList,
                      rescale: bool) -> SampleList:
        """Boxes and sky maps of images padded to one size (B, 3, H, W)."""
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

"""Drawing of boxes with a translucent sky overlay."""
from typing import List, Optional

import numpy as np
import torch
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import PixelData

from bafenet.registry import VISUALIZERS


@VISUALIZERS.register_module()
class SkyDetLocalVisualizer(DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` that draws sky maps as an overlay.

    mmdet colours a semantic map with the *detection* palette, which has one
    entry for DenseSIRST; here ``gt_sem_seg`` / ``pred_sem_seg`` are drawn as
    a translucent overlay of the sky class in its ``seg_palette`` colour
    (``others`` and the ignore index stay clear), under the boxes.

    Args:
        name (str): The instance name (visualizers are named singletons).
        sky_label (int): The sky class index. Defaults to 1.
        sky_alpha (float): Opacity of the overlay. Defaults to 0.3.
        **kwargs: Arguments of ``DetLocalVisualizer``.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 sky_label: int = 1,
                 sky_alpha: float = 0.3,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.sky_label = sky_label
        self.sky_alpha = sky_alpha

    def _draw_sem_seg(self, image: np.ndarray, sem_seg: PixelData,
                      classes: Optional[List],
                      palette: Optional[List]) -> np.ndarray:
        """Overlay the sky of ``sem_seg.sem_seg`` (1, H, W) on ``image``
        (H, W, 3) RGB; the detection ``classes``/``palette`` are unused."""
        seg = sem_seg.sem_seg
        if isinstance(seg, torch.Tensor):
            seg = seg.numpy()
        sky = seg[0] == self.sky_label
        seg_palette = (self.dataset_meta or {}).get('seg_palette',
                                                    [(0, 0, 0), (128, 0, 0)])
        self.set_image(image)
        if sky.any():
            self.draw_binary_masks(
                sky,
                colors=[tuple(seg_palette[self.sky_label])],
                alphas=self.sky_alpha)
        return self.get_image()

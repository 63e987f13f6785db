"""Drawing of boxes with a translucent sky overlay."""
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData, PixelData

from bafenet.registry import VISUALIZERS


@VISUALIZERS.register_module()
class SkyDetLocalVisualizer(DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` for small targets over a sky map.

    - Boxes are thin outlines without label text, which would hide targets
      of a few pixels; instances with a true ``pasted`` field (copy-paste
      targets) are drawn in ``pasted_color``.
    - ``gt_sem_seg`` / ``pred_sem_seg`` are drawn as a translucent overlay of
      the sky class in its ``seg_palette`` colour (``others`` and the ignore
      index stay clear); mmdet would colour them with the detection palette.

    Args:
        name (str): The instance name (visualizers are named singletons).
        sky_label (int): The sky class index. Defaults to 1.
        sky_alpha (float): Opacity of the overlay. Defaults to 0.3.
        pasted_color (tuple[int]): RGB colour of pasted targets.
        **kwargs: Arguments of ``DetLocalVisualizer``.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 sky_label: int = 1,
                 sky_alpha: float = 0.3,
                 pasted_color: Tuple[int, int, int] = (255, 160, 0),
                 **kwargs) -> None:
        kwargs.setdefault('line_width', 1)
        super().__init__(name=name, **kwargs)
        self.sky_label = sky_label
        self.sky_alpha = sky_alpha
        self.pasted_color = tuple(pasted_color)

    def _draw_instances(self, image: np.ndarray, instances: InstanceData,
                        classes: Optional[List],
                        palette: Optional[List]) -> np.ndarray:
        """Outline ``instances.bboxes`` (N, 4) on ``image`` (H, W, 3) RGB."""
        self.set_image(image)
        if len(instances) == 0 or 'bboxes' not in instances:
            return self.get_image()
        labels = instances.labels.tolist()
        palette = palette or [(0, 255, 0)]
        colors = [tuple(palette[label % len(palette)]) for label in labels]
        if 'pasted' in instances:
            colors = [
                self.pasted_color if pasted else color
                for pasted, color in zip(instances.pasted.tolist(), colors)
            ]
        bboxes = instances.bboxes
        self.draw_bboxes(
            getattr(bboxes, 'tensor', bboxes),  # HorizontalBoxes in training
            edge_colors=colors,
            alpha=0.9,
            line_widths=self.line_width)
        return self.get_image()

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

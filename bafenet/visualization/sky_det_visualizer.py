"""Pictures of small-target boxes over a translucent sky map."""
from typing import Optional, Tuple

import cv2
import mmcv
import numpy as np
from mmdet.structures import DetDataSample
from mmengine.dist import master_only
from mmengine.structures import InstanceData, PixelData
from mmengine.visualization import Visualizer

from bafenet.registry import VISUALIZERS


@VISUALIZERS.register_module()
class SkyDetLocalVisualizer(Visualizer):
    """Ground truth and predictions for small targets over the sky.

    :meth:`add_datasample` takes the arguments of mmdet's
    ``DetLocalVisualizer`` (those mmdet's ``DetVisualizationHook`` and
    ``DetInferencer`` pass) and draws, on a copy of the image:

    - the sky (``gt_sem_seg`` / ``pred_sem_seg`` ``sem_seg`` (1, H, W) equal
      to ``sky_label``) as a translucent overlay in its ``seg_palette``
      colour (others and the ignore index stay clear);
    - over it, boxes as thin outlines without label text, which would hide
      targets of a few pixels; instances with a true ``pasted`` field
      (copy-paste targets) in ``pasted_color``.

    It draws with OpenCV on the pixel array rather than through mmengine's
    matplotlib canvas, which resamples every picture (most pixels change in
    a set_image / get_image round trip) and so blurs 2-px targets;
    :meth:`get_image` returns that array. mmengine's ``draw_*`` methods are
    not used.

    Args:
        name (str): The instance name (visualizers are named singletons).
        line_width (int): Box outline width in px. Defaults to 1.
        sky_label (int): The sky class index. Defaults to 1.
        sky_alpha (float): Opacity of the overlay. Defaults to 0.3.
        pasted_color (tuple[int]): RGB colour of pasted targets.
        **kwargs: Arguments of mmengine's ``Visualizer`` (``vis_backends``,
            ``save_dir``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 line_width: int = 1,
                 sky_label: int = 1,
                 sky_alpha: float = 0.3,
                 pasted_color: Tuple[int, int, int] = (255, 160, 0),
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.line_width = line_width
        self.sky_label = sky_label
        self.sky_alpha = sky_alpha
        self.pasted_color = tuple(pasted_color)

    def draw_sky(self, image: np.ndarray, sem_seg: PixelData) -> np.ndarray:
        """``image`` (H, W, 3) RGB with the sky of ``sem_seg.sem_seg``
        (1, H, W) blended in its ``seg_palette`` colour."""
        sky = np.asarray(sem_seg.sem_seg)[0] == self.sky_label
        seg_palette = (self.dataset_meta or {}).get('seg_palette',
                                                    [(0, 0, 0), (128, 0, 0)])
        color = np.array(seg_palette[self.sky_label], np.float32)
        out = image.copy()
        out[sky] = np.round(image[sky] * (1 - self.sky_alpha) +
                            color * self.sky_alpha).astype(np.uint8)
        return out

    def draw_targets(self, image: np.ndarray,
                     instances: InstanceData) -> np.ndarray:
        """``image`` (H, W, 3) RGB with ``instances.bboxes`` (N, 4)
        outlined in the class palette colour, or ``pasted_color`` where
        ``instances.pasted`` is true."""
        palette = (self.dataset_meta or {}).get('palette') or [(0, 255, 0)]
        colors = [
            tuple(palette[label % len(palette)])
            for label in instances.labels.tolist()
        ]
        if 'pasted' in instances:
            colors = [
                self.pasted_color if pasted else color
                for pasted, color in zip(instances.pasted.tolist(), colors)
            ]
        # HorizontalBoxes in training samples, tensors in predictions.
        bboxes = getattr(instances.bboxes, 'tensor', instances.bboxes)
        out = image.copy()
        for (x1, y1, x2, y2), color in zip(
                np.round(np.asarray(bboxes)).astype(int).tolist(), colors):
            cv2.rectangle(out, (x1, y1), (x2, y2), tuple(map(int, color)),
                          self.line_width)
        return out

    def draw_panel(self, image: np.ndarray,
                   instances: Optional[InstanceData],
                   sem_seg: Optional[PixelData]) -> np.ndarray:
        """``image`` (H, W, 3) RGB with the sky, then the boxes."""
        if sem_seg is not None:
            image = self.draw_sky(image, sem_seg)
        if instances is not None and 'bboxes' in instances:
            image = self.draw_targets(image, instances)
        return image

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[DetDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3,
                       step: int = 0) -> None:
        """Draw the ground truth (left) beside the predictions (right).

        Args:
            name (str): The image name (for ``show`` and the backends).
            image (np.ndarray): (H, W, 3) RGB image.
            data_sample (DetDataSample, optional): ``gt_instances``,
                ``gt_sem_seg``, ``pred_instances``, ``pred_sem_seg``.
            draw_gt (bool): Draw the ground-truth panel.
            draw_pred (bool): Draw the prediction panel.
            show (bool): Show the picture in a window.
            wait_time (float): Seconds to show it.
            out_file (str, optional): Write the picture here instead of
                to the visualisation backends.
            pred_score_thr (float): Predicted boxes scoring more than this
                are drawn.
            step (int): The backends' global step.
        """
        image = image.clip(0, 255).astype(np.uint8)
        panels = []
        if data_sample is not None:
            data_sample = data_sample.cpu()
            if draw_gt:
                panels.append(
                    self.draw_panel(image, data_sample.get('gt_instances'),
                                    data_sample.get('gt_sem_seg')))
            if draw_pred:
                instances = data_sample.get('pred_instances')
                if instances is not None:
                    instances = instances[instances.scores > pred_score_thr]
                panels.append(
                    self.draw_panel(image, instances,
                                    data_sample.get('pred_sem_seg')))
        drawn = np.concatenate(panels, axis=1) if panels else image
        # get_image returns it; mmengine's matplotlib canvas is never drawn
        # on here, so set_image's figure work would be wasted
        self._image = drawn
        self.height, self.width = drawn.shape[:2]
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)

    @master_only
    def get_image(self) -> np.ndarray:
        """The last picture (H, W, 3) RGB, as drawn (not re-rendered)."""
        assert self._image is not None, 'no picture drawn yet'
        return self._image

"""Pictures of small-target boxes over a translucent sky map."""
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmdet.structures import DetDataSample
from mmengine.dist import master_only
from mmengine.structures import InstanceData, PixelData
from mmengine.visualization import Visualizer

from bafenet.registry import VISUALIZERS

Color = Tuple[int, int, int]

#: OpenCV's font of titles, legends and scores, its scale and stroke.
FONT, FONT_SCALE, FONT_THICKNESS = cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1
#: Height in px of a title or legend band.
BAND_HEIGHT = 16
#: Colour of bands and of text outlines (RGB).
BAND_COLOR: Color = (0, 0, 0)
TEXT_COLOR: Color = (255, 255, 255)


def put_text(image: np.ndarray, text: str, origin: Tuple[int, int],
             color: Color) -> None:
    """Write ``text`` on ``image`` (H, W, 3) RGB in place, its baseline
    starting at ``origin`` (x, y), with a dark outline so that it reads on
    any background."""
    cv2.putText(image, text, origin, FONT, FONT_SCALE, BAND_COLOR,
                FONT_THICKNESS + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, FONT_SCALE, color, FONT_THICKNESS,
                cv2.LINE_AA)


def text_width(text: str) -> int:
    """Width in px of ``text`` in the visualiser's font."""
    return cv2.getTextSize(text, FONT, FONT_SCALE, FONT_THICKNESS)[0][0]


def band(width: int, entries: Sequence[Tuple[str, Optional[Color]]]
         ) -> np.ndarray:
    """A dark (BAND_HEIGHT, width, 3) RGB band with ``entries`` written
    left to right: each a text, after a colour swatch unless its colour is
    None."""
    out = np.full((BAND_HEIGHT, width, 3), BAND_COLOR, np.uint8)
    x = 4
    for text, color in entries:
        if color is not None:
            cv2.rectangle(out, (x, 4), (x + 9, BAND_HEIGHT - 4),
                          tuple(map(int, color)), -1)
            x += 13
        put_text(out, text, (x, BAND_HEIGHT - 4), TEXT_COLOR)
        x += text_width(text) + 10
    return out


@VISUALIZERS.register_module()
class SkyDetLocalVisualizer(Visualizer):
    """Ground truth and predictions for small targets over the sky.

    :meth:`add_datasample` takes the arguments of mmdet's
    ``DetLocalVisualizer`` (those mmdet's ``DetVisualizationHook`` and
    ``DetInferencer`` pass) and draws, on a copy of the image:

    - the sky (``gt_sem_seg`` / ``pred_sem_seg`` ``sem_seg`` (1, H, W) equal
      to ``sky_label``) as a translucent tint in its ``seg_palette`` colour,
      with its outline (the sky's own border pixels) in that colour, so
      sky reads apart from ground; other pixels stay as they are;
    - over it, each box as a ring ``box_margin`` px outside the box, so
      that the outline never covers a target of a few pixels; instances
      with a true ``pasted`` field (copy-paste targets) in
      ``pasted_color``; with ``show_scores``, each predicted box's score
      beside its ring;
    - with ``titles``, a band above each panel naming it ("ground truth",
      "prediction, score > thr"); with ``legend``, a band below the
      picture with what each colour means.

    It draws with OpenCV on the pixel array rather than through mmengine's
    matplotlib canvas, which resamples every picture (most pixels change in
    a set_image / get_image round trip) and so blurs 2-px targets;
    :meth:`get_image` returns that array. mmengine's ``draw_*`` methods are
    not used.

    Args:
        name (str): The instance name (visualizers are named singletons).
        line_width (int): Ring width in px. Defaults to 1.
        box_margin (int): Clear pixels between a box and its ring.
            Defaults to 2.
        sky_label (int): The sky class index. Defaults to 1.
        sky_alpha (float): Opacity of the tint. Defaults to 0.3.
        pasted_color (tuple[int]): RGB colour of pasted targets.
        show_scores (bool): Write each predicted box's score. Defaults to
            False.
        titles (bool): Title each panel. Defaults to False.
        legend (bool): Add a legend band. Defaults to False.
        **kwargs: Arguments of mmengine's ``Visualizer`` (``vis_backends``,
            ``save_dir``, ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 line_width: int = 1,
                 box_margin: int = 2,
                 sky_label: int = 1,
                 sky_alpha: float = 0.3,
                 pasted_color: Color = (255, 160, 0),
                 show_scores: bool = False,
                 titles: bool = False,
                 legend: bool = False,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.line_width = line_width
        self.box_margin = box_margin
        self.sky_label = sky_label
        self.sky_alpha = sky_alpha
        self.pasted_color = tuple(pasted_color)
        self.show_scores = show_scores
        self.titles = titles
        self.legend = legend

    @property
    def sky_color(self) -> Color:
        """The sky's ``seg_palette`` colour (RGB)."""
        seg_palette = (self.dataset_meta or {}).get('seg_palette',
                                                    [(0, 0, 0), (128, 0, 0)])
        return tuple(int(c) for c in seg_palette[self.sky_label])

    @property
    def target_color(self) -> Color:
        """The colour of the first class (RGB)."""
        palette = (self.dataset_meta or {}).get('palette') or [(0, 255, 0)]
        return tuple(int(c) for c in palette[0])

    def draw_sky(self, image: np.ndarray, sem_seg: PixelData) -> np.ndarray:
        """``image`` (H, W, 3) RGB with the sky of ``sem_seg.sem_seg``
        (1, H, W) tinted in its ``seg_palette`` colour and outlined (its
        border pixels) in that colour."""
        sky = np.asarray(sem_seg.sem_seg)[0] == self.sky_label
        color = np.array(self.sky_color, np.float32)
        out = image.copy()
        out[sky] = np.round(image[sky] * (1 - self.sky_alpha) +
                            color * self.sky_alpha).astype(np.uint8)
        inner = cv2.erode(
            sky.astype(np.uint8), np.ones((3, 3), np.uint8),
            borderType=cv2.BORDER_REPLICATE).astype(bool)
        out[sky & ~inner] = self.sky_color
        return out

    def ring(self, box: Sequence[float]) -> Tuple[int, int, int, int]:
        """The outer pixel bounds (x1, y1, x2, y2) of the ring around a box
        ``[x1, y1, x2, y2]``: the box's pixels are columns ``floor(x1)`` to
        ``ceil(x2) - 1``, and ``box_margin`` clear pixels separate them
        from the ring's inner edge."""
        x1, y1, x2, y2 = box
        gap = self.box_margin + self.line_width
        return (int(np.floor(x1)) - gap, int(np.floor(y1)) - gap,
                int(np.ceil(x2)) - 1 + gap, int(np.ceil(y2)) - 1 + gap)

    def draw_targets(self, image: np.ndarray,
                     instances: InstanceData) -> np.ndarray:
        """``image`` (H, W, 3) RGB with a ring around each of
        ``instances.bboxes`` (N, 4) in the class palette colour, or
        ``pasted_color`` where ``instances.pasted`` is true, and, with
        ``show_scores`` and ``instances.scores``, each score beside it
        (:meth:`score_cell`)."""
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
        bboxes = np.asarray(getattr(instances.bboxes, 'tensor',
                                    instances.bboxes)).tolist()
        scores = (instances.scores.tolist()
                  if self.show_scores and 'scores' in instances else None)
        out = image.copy()
        rings = [self.ring(box) for box in bboxes]
        for (x1, y1, x2, y2), color in zip(rings, colors):
            color = tuple(map(int, color))
            for k in range(self.line_width):
                cv2.rectangle(out, (x1 + k, y1 + k), (x2 - k, y2 - k), color,
                              1)
        if scores is not None:
            taken = list(rings)
            for ring, score, color in zip(rings, scores, colors):
                text = f'{score:.2f}'
                cell = self.score_cell(ring, text_width(text), taken,
                                       out.shape[:2])
                taken.append(cell)
                put_text(out, text, (cell[0], cell[3]),
                         tuple(map(int, color)))
        return out

    @staticmethod
    def score_cell(ring: Tuple[int, int, int, int], width: int,
                   taken: Sequence[Tuple[int, int, int, int]],
                   shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
        """Where to write a box's score, ``width`` px wide: right of its
        ring, else left, above or below, else right or left a row or more
        (up to 3) higher or lower, the first place inside the frame (H, W)
        ``shape`` that overlaps none of the ``taken`` areas (rings with
        their boxes, scores already written); right if none is free.

        Returns:
            tuple[int]: The text's cell (x1, y1, x2, y2), inclusive; the
            text's origin is its bottom left.
        """
        x1, y1, x2, y2 = ring
        height = 10
        cells = [(x2 + 2, y1), (x1 - 2 - width, y1),
                 (x1, y1 - 2 - height), (x1, y2 + 2)]
        cells += [(left, y1 + row * (height + 1))
                  for row in (-1, 1, -2, 2, -3, 3)
                  for left in (x2 + 2, x1 - 2 - width)]
        cells = [(left, top, left + width - 1, top + height - 1)
                 for left, top in cells]

        def free(cell):
            cx1, cy1, cx2, cy2 = cell
            inside = (cx1 >= 0 and cy1 >= 0 and cx2 < shape[1]
                      and cy2 < shape[0])
            return inside and not any(
                cx1 <= tx2 and tx1 <= cx2 and cy1 <= ty2 and ty1 <= cy2
                for tx1, ty1, tx2, ty2 in taken)

        return next((cell for cell in cells if free(cell)), cells[0])

    def draw_panel(self, image: np.ndarray,
                   instances: Optional[InstanceData],
                   sem_seg: Optional[PixelData]) -> np.ndarray:
        """``image`` (H, W, 3) RGB with the sky, then the boxes."""
        if sem_seg is not None:
            image = self.draw_sky(image, sem_seg)
        if instances is not None and 'bboxes' in instances:
            image = self.draw_targets(image, instances)
        return image

    def legend_entries(self, data_sample: Optional[DetDataSample]
                       ) -> List[Tuple[str, Optional[Color]]]:
        """What the colours of a picture of ``data_sample`` mean."""
        entries = [('target', self.target_color)]
        if data_sample is None:
            return entries
        gt = data_sample.get('gt_instances')
        if gt is not None and 'pasted' in gt and bool(gt.pasted.any()):
            entries.append(('pasted target', self.pasted_color))
        if 'gt_sem_seg' in data_sample or 'pred_sem_seg' in data_sample:
            entries.append(('sky', self.sky_color))
        if self.show_scores and 'pred_instances' in data_sample:
            entries.append(('number: score', None))
        return entries

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
                panels.append(('ground truth',
                               self.draw_panel(
                                   image, data_sample.get('gt_instances'),
                                   data_sample.get('gt_sem_seg'))))
            if draw_pred:
                instances = data_sample.get('pred_instances')
                if instances is not None:
                    instances = instances[instances.scores > pred_score_thr]
                panels.append((f'prediction, score > {pred_score_thr:g}',
                               self.draw_panel(
                                   image, instances,
                                   data_sample.get('pred_sem_seg'))))
        if not panels:
            panels = [('image', image)]
        if self.titles:
            panels = [(title,
                       np.concatenate(
                           [band(panel.shape[1], [(title, None)]), panel]))
                      for title, panel in panels]
        drawn = np.concatenate([panel for _, panel in panels], axis=1)
        if self.legend:
            drawn = np.concatenate(
                [drawn,
                 band(drawn.shape[1], self.legend_entries(data_sample))])
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

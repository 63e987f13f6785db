"""Tiled inference at native resolution: a detector run on overlapping tiles.

Frames of 640x512 to 1920x1080 are squashed to the training input size by
the test pipeline, which shrinks 2-6 px targets further. ``TiledDetector``
instead takes the frame at its own size, cuts it into tiles of the training
input size, runs the wrapped detector on each tile and merges the results:

- Tiles overlap by at least ``overlap`` px and are spread evenly, the last
  one flush with the frame's edge. Each tile *owns* the part of the frame
  nearer to its centre than to its neighbours' (the overlaps are split in
  the middle). A tile keeps only the boxes whose centre it owns, and gives
  the sky map of the pixels it owns.
- The rule: a target at most ``overlap`` px wide and high lies whole inside
  the tile that owns its centre, and a tile that sees it cut at its edge
  does not own that cut box's centre. So no target of that size is lost or
  doubled at a seam, and every kept box saw at least ``overlap / 2`` px of
  context on every side facing another tile.
- The kept boxes of all tiles then go through the detector's NMS
  (``test_cfg.nms``) as one set and are cut to ``test_cfg.max_per_img``.

:func:`bafenet.apis.cli.tiled_test_config` turns a config into its tiled
form (for ``tools/test.py --tile`` and ``SkyDetInferencer(tile=True)``).
"""
import math
from typing import List, Sequence, Tuple

import torch
from mmcv.ops import batched_nms
from mmdet.structures import DetDataSample
from mmengine.model import BaseTTAModel
from mmengine.structures import InstanceData, PixelData

from bafenet.registry import MODELS

#: The largest target extent of DenseSIRST (23 px in ``test_v2``) rounded up.
DEFAULT_OVERLAP = 32


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of tiles covering ``[0, length)`` along one axis.

    Args:
        length (int): The frame's size along the axis.
        tile (int): The tile's size; a frame no larger gets one tile.
        overlap (int): The least overlap of neighbouring tiles.

    Returns:
        list[int]: Increasing offsets, the first 0 and the last
        ``length - tile``; neighbours overlap by ``overlap`` px or more.
    """
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def owned_spans(starts: Sequence[int], tile: int,
                length: int) -> List[Tuple[float, float]]:
    """The part of one axis each tile owns: up to the middle of each
    overlap with a neighbour.

    A box belongs to the tile whose span holds its centre, a pixel ``i`` to
    the one whose span holds ``i + 0.5`` (its centre).

    Args:
        starts (Sequence[int]): Tile offsets from :func:`tile_starts`.
        tile (int): The tile's size.
        length (int): The frame's size along the axis.

    Returns:
        list[tuple[float, float]]: Per tile, ``[begin, end)`` bounds (the
        middles of overlaps are whole or half pixels); the spans partition
        ``[0, length)``.
    """
    cuts = [(nxt + prev + tile) / 2 for prev, nxt in zip(starts, starts[1:])]
    return list(zip([0.0] + cuts, cuts + [float(length)]))


@MODELS.register_module()
class TiledDetector(BaseTTAModel):
    """Run a detector on overlapping tiles of each frame and merge them.

    A test-time wrapper in mmengine's ``BaseTTAModel`` family (like mmdet's
    ``DetTTAModel``): checkpoints of the plain detector load into it, and
    the Runner's test loop calls its :meth:`test_step`. The test pipeline
    must keep frames at their size (:func:`tiled_test_config`).

    Args:
        module (dict | nn.Module): The detector (FCOS, FCOS-Seg, BAFE-Net).
        tile_size (tuple[int, int]): Tile ``(width, height)``, the training
            input size.
        overlap (int): Least overlap of neighbouring tiles in px; no smaller
            than the largest target (see the module docstring).
        tile_batch_size (int): Tiles of a frame run through the detector
            together. Defaults to 8.
    """

    def __init__(self,
                 module,
                 tile_size: Tuple[int, int] = (512, 512),
                 overlap: int = DEFAULT_OVERLAP,
                 tile_batch_size: int = 8,
                 data_preprocessor=None) -> None:
        super().__init__(module, data_preprocessor)
        self.tile_w, self.tile_h = tile_size
        if not 0 <= overlap < min(tile_size):
            raise ValueError(f'overlap must be in [0, {min(tile_size)}) for '
                             f'tiles of {tile_size}, got {overlap}')
        self.overlap = overlap
        self.tile_batch_size = tile_batch_size

    def test_step(self, data: dict) -> List[DetDataSample]:
        """Predict a batch of frames, each from its tiles.

        Args:
            data (dict): ``inputs``: list of (3, H, W) uint8 frames at their
                own size; ``data_samples``: list of ``DetDataSample``.

        Returns:
            list[DetDataSample]: The samples with ``pred_instances`` and,
            for detectors with a sky branch, ``pred_sem_seg``, in frame
            pixels.
        """
        tile_preds = []
        for frame, sample in zip(data['inputs'], data['data_samples']):
            if tuple(sample.img_shape[:2]) != tuple(sample.ori_shape[:2]):
                raise ValueError(
                    f'{sample.get("img_path", "an input")}: TiledDetector '
                    f'works at native resolution, but the test pipeline '
                    f'resized {sample.ori_shape[:2]} to {sample.img_shape[:2]}'
                    ' (use tiled_test_config)')
            tiles, tile_samples = self.cut(frame)
            preds = []
            for i in range(0, len(tiles), self.tile_batch_size):
                batch = slice(i, i + self.tile_batch_size)
                preds += self.module.test_step(
                    dict(
                        inputs=tiles[batch],
                        data_samples=tile_samples[batch]))
            tile_preds.append(preds)
        merged = self.merge_preds(tile_preds)
        for sample, pred in zip(data['data_samples'], merged):
            sample.pred_instances = pred.pred_instances
            if 'pred_sem_seg' in pred:
                sample.pred_sem_seg = pred.pred_sem_seg
        return data['data_samples']

    def cut(self, frame: torch.Tensor
            ) -> Tuple[List[torch.Tensor], List[DetDataSample]]:
        """The tiles of one frame and their samples.

        Args:
            frame (Tensor): (3, H, W) frame.

        Returns:
            tuple: (3, h, w) tile views and ``DetDataSample`` s whose
            metainfo holds the tile's ``img_shape`` and ``ori_shape`` (so
            predictions stay in tile pixels), its ``tile_origin`` (x, y),
            the ``owned`` box ``(x1, y1, x2, y2)`` in frame pixels and the
            frame's ``frame_shape`` (H, W).
        """
        height, width = frame.shape[-2:]
        tile_h, tile_w = min(self.tile_h, height), min(self.tile_w, width)
        xs = tile_starts(width, tile_w, self.overlap)
        ys = tile_starts(height, tile_h, self.overlap)
        x_spans = owned_spans(xs, tile_w, width)
        y_spans = owned_spans(ys, tile_h, height)
        tiles, samples = [], []
        for y, (oy1, oy2) in zip(ys, y_spans):
            for x, (ox1, ox2) in zip(xs, x_spans):
                tiles.append(frame[:, y:y + tile_h, x:x + tile_w])
                samples.append(
                    DetDataSample(
                        metainfo=dict(
                            img_shape=(tile_h, tile_w),
                            ori_shape=(tile_h, tile_w),
                            scale_factor=(1.0, 1.0),
                            tile_origin=(x, y),
                            owned=(ox1, oy1, ox2, oy2),
                            frame_shape=(height, width))))
        return tiles, samples

    def merge_preds(self, data_samples_list: List[List[DetDataSample]]
                    ) -> List[DetDataSample]:
        """Merge the tile predictions of each frame.

        Args:
            data_samples_list (list[list[DetDataSample]]): Per frame, the
                predictions of its tiles (from :meth:`cut`).

        Returns:
            list[DetDataSample]: Per frame, ``pred_instances`` (boxes whose
            centre the tile owns, then NMS and ``max_per_img``) and the
            stitched ``pred_sem_seg`` (every field of the tiles' maps).
        """
        return [self.merge_frame(preds) for preds in data_samples_list]

    def merge_frame(self, preds: List[DetDataSample]) -> DetDataSample:
        """Merge the tile predictions of one frame (see :meth:`merge_preds`).
        """
        kept = []
        for pred in preds:
            inst = pred.pred_instances
            x, y = pred.tile_origin
            ox1, oy1, ox2, oy2 = pred.owned
            bboxes = inst.bboxes + inst.bboxes.new_tensor([x, y, x, y])
            cx = (bboxes[:, 0] + bboxes[:, 2]) / 2
            cy = (bboxes[:, 1] + bboxes[:, 3]) / 2
            mine = (cx >= ox1) & (cx < ox2) & (cy >= oy1) & (cy < oy2)
            inst = inst[mine]
            inst.bboxes = bboxes[mine]
            kept.append(inst)
        instances = InstanceData.cat(kept)
        test_cfg = self.module.bbox_head.test_cfg
        if len(preds) > 1 and len(instances) > 0:
            _, keep = batched_nms(instances.bboxes, instances.scores,
                                  instances.labels, test_cfg.nms)
            instances = instances[keep[:test_cfg.max_per_img]]
        merged = DetDataSample(pred_instances=instances)
        if 'pred_sem_seg' in preds[0]:
            merged.pred_sem_seg = self.stitch(preds)
        return merged

    @staticmethod
    def stitch(preds: List[DetDataSample]) -> PixelData:
        """Each field of the tiles' ``pred_sem_seg`` ((C, h, w) maps) over
        the frame, every pixel from the tile that owns it.

        Args:
            preds (list[DetDataSample]): The tile predictions of one frame.

        Returns:
            PixelData: The frame's maps, (C, H, W).
        """
        height, width = preds[0].frame_shape
        stitched = {}
        for key, value in preds[0].pred_sem_seg.items():
            stitched[key] = value.new_empty((value.shape[0], height, width))
        for pred in preds:
            x, y = pred.tile_origin
            # The pixels whose centre the tile owns.
            ox1, oy1, ox2, oy2 = (math.floor(v) for v in pred.owned)
            for key, value in pred.pred_sem_seg.items():
                stitched[key][:, oy1:oy2, ox1:ox2] = value[:, oy1 - y:oy2 - y,
                                                           ox1 - x:ox2 - x]
        return PixelData(**stitched)

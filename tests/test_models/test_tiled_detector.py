"""TiledDetector: the tiling rule, and tiled runs against plain runs on the
tiles' crops of a real frame."""
import copy
import math
import random

import mmcv
import pytest
import torch
from mmdet.structures.bbox import bbox_overlaps

from bafenet.apis import SkyDetInferencer, inference_detector, init_detector
from bafenet.apis.cli import tiled_test_config
from bafenet.models.test_time import TiledDetector
from bafenet.models.test_time.tiled_detector import owned_spans, tile_starts
from tests.tiny_configs import tiny_bafenet_config

TILE = 128


def test_every_target_no_larger_than_the_overlap_is_whole_in_its_owner():
    rng = random.Random(0)
    for _ in range(300):
        tile = rng.randint(16, 200)
        overlap = rng.randint(0, tile - 1)
        length = rng.randint(1, 1000)
        starts = tile_starts(length, tile, overlap)
        size = min(tile, length)
        spans = owned_spans(starts, size, length)
        assert starts[0] == 0 and starts[-1] + size == length
        assert all(b - a <= size - overlap for a, b in zip(starts, starts[1:]))
        assert [s for s, _ in spans][1:] == [e for _, e in spans][:-1]
        assert spans[0][0] == 0 and spans[-1][1] == length
        for _ in range(20):
            extent = rng.uniform(0, min(overlap, length))
            x1 = rng.uniform(0, length - extent)
            centre = x1 + extent / 2
            owner = next(i for i, (a, b) in enumerate(spans)
                         if a <= centre < b or centre == length == b)
            assert starts[owner] <= x1
            assert x1 + extent <= starts[owner] + size


@pytest.fixture(scope='module')
def frame(real_root):
    """A real 301x213 test_v2 frame: 3x2 tiles of 128 px."""
    return str(real_root / 'PNGImages' / 'Misc_199.png')


def tiled_and_native(cfg):
    """A TiledDetector (running one tile at a time, as a plain run does) and
    the same detector unwrapped, with the same weights and the same
    native-resolution test pipeline."""
    tiled = init_detector(tiled_test_config(cfg),
                          cfg_options=dict(model=dict(tile_batch_size=1)))
    native_cfg = copy.deepcopy(tiled.cfg)
    native_cfg.model = native_cfg.model.module
    native = init_detector(native_cfg)
    native.load_state_dict(tiled.module.state_dict())
    return tiled, native


@pytest.fixture(scope='module')
def models(real_root):
    return tiled_and_native(tiny_bafenet_config(real_root))


def test_tiled_config_keeps_native_size_and_wraps_the_model(real_root):
    cfg = tiny_bafenet_config(real_root)
    tiled_cfg = tiled_test_config(cfg, overlap=40)
    assert tiled_cfg.model.type == 'TiledDetector'
    assert tiled_cfg.model.module == cfg.model
    assert tiled_cfg.model.tile_size == (TILE, TILE)
    resizes = [s for s in tiled_cfg.test_dataloader.dataset.pipeline
               if s['type'] == 'Resize']
    assert resizes == [dict(type='Resize', scale_factor=1.0)]
    # The original config is unchanged.
    assert cfg.model.type == 'BAFENet'
    # A pipeline that keeps the size needs a tile size.
    with pytest.raises(ValueError, match='--tile-size WIDTH HEIGHT'):
        tiled_test_config(tiled_cfg)
    again = tiled_test_config(tiled_cfg, tile_size=(96, 64))
    assert again.model.tile_size == (96, 64)
    assert (again.test_dataloader.dataset.pipeline ==
            tiled_cfg.test_dataloader.dataset.pipeline)
    with pytest.raises(ValueError, match='overlap must be'):
        TiledDetector(module=cfg.model, tile_size=(64, 64), overlap=64)


def test_tiles_equal_plain_runs_on_their_crops(models, frame, tmp_path):
    """Every merged box whose centre a tile owns is a box of the plain,
    native-resolution run on that tile's crop (file in, same score); the
    crop's owned boxes missing from the merge were suppressed by a better
    merged box (NMS over the tiles); the sky map is the crop's, pixel for
    pixel."""
    tiled, native = models
    merged = inference_detector(tiled, frame)
    image = mmcv.imread(frame)
    height, width = image.shape[:2]
    assert merged.pred_sem_seg.sky_prob.shape == (1, height, width)
    boxes = merged.pred_instances.bboxes
    scores = merged.pred_instances.scores
    nms_thr = tiled.module.test_cfg.nms.iou_threshold
    xs = tile_starts(width, TILE, tiled.overlap)
    ys = tile_starts(height, TILE, tiled.overlap)
    assert (len(xs), len(ys)) == (3, 2)
    seen = torch.zeros(len(boxes), dtype=torch.bool)
    for y, (oy1, oy2) in zip(ys, owned_spans(ys, TILE, height)):
        for x, (ox1, ox2) in zip(xs, owned_spans(xs, TILE, width)):
            # Pixels whose centre the tile owns.
            px1, py1, px2, py2 = (math.floor(v) for v in (ox1, oy1, ox2, oy2))
            crop_file = tmp_path / f'crop_{x}_{y}.png'
            mmcv.imwrite(image[y:y + TILE, x:x + TILE], str(crop_file))
            crop = inference_detector(native, crop_file)
            assert crop.ori_shape == (TILE, TILE) == crop.img_shape
            for key in ('sky_prob', 'sem_seg'):
                torch.testing.assert_close(
                    merged.pred_sem_seg.get(key)[:, py1:py2, px1:px2],
                    crop.pred_sem_seg.get(key)[:, py1 - y:py2 - y,
                                               px1 - x:px2 - x],
                    rtol=0, atol=0)
            crop_boxes = crop.pred_instances.bboxes + torch.tensor(
                [x, y, x, y])
            crop_scores = crop.pred_instances.scores
            centre = (crop_boxes[:, :2] + crop_boxes[:, 2:]) / 2
            owned = ((centre[:, 0] >= ox1) & (centre[:, 0] < ox2) &
                     (centre[:, 1] >= oy1) & (centre[:, 1] < oy2))
            crop_boxes, crop_scores = crop_boxes[owned], crop_scores[owned]
            assert len(crop_boxes) > 0
            centre = (boxes[:, :2] + boxes[:, 2:]) / 2
            mine = ((centre[:, 0] >= ox1) & (centre[:, 0] < ox2) &
                    (centre[:, 1] >= oy1) & (centre[:, 1] < oy2))
            seen |= mine
            # Merged boxes of this tile are crop boxes, with their scores.
            same = (boxes[mine][:, None] == crop_boxes[None]).all(-1)
            assert same.any(1).all()
            torch.testing.assert_close(
                scores[mine], crop_scores[same.float().argmax(1)], rtol=0,
                atol=0)
            # A crop box left out overlaps a merged box that scores more
            # (NMS), or scores no more than the last one kept (max_per_img).
            dropped = ~same.any(0)
            iou = bbox_overlaps(crop_boxes[dropped], boxes)
            better = scores[None] >= crop_scores[dropped][:, None]
            assert (((iou > nms_thr) & better).any(1)
                    | (crop_scores[dropped] <= scores.min())).all()
    assert seen.all()


def test_a_frame_within_one_tile_equals_the_untiled_native_run(
        real_root, frame):
    tiled, native = tiled_and_native(tiny_bafenet_config(real_root, scale=512))
    one = inference_detector(tiled, frame)
    ref = inference_detector(native, frame)
    assert ref.img_shape == ref.ori_shape == (213, 301)
    assert len(one.pred_instances) == len(ref.pred_instances) > 0
    for key in ('bboxes', 'scores', 'labels'):
        torch.testing.assert_close(one.pred_instances[key],
                                   ref.pred_instances[key])
    torch.testing.assert_close(one.pred_sem_seg.sky_prob,
                               ref.pred_sem_seg.sky_prob)


def test_the_inferencer_tiles_on_request(real_root, frame):
    torch.manual_seed(0)
    inferencer = SkyDetInferencer(
        tiny_bafenet_config(real_root), tile=True, show_progress=False)
    assert isinstance(inferencer.model, TiledDetector)
    result = inferencer(frame, return_datasamples=True)['predictions'][0]
    assert result.pred_sem_seg.sem_seg.shape == (1, 213, 301)

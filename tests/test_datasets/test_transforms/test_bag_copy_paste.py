"""BAGCopyPaste: placement, blending and bookkeeping properties."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmdet.structures.bbox import HorizontalBoxes

from bafenet.datasets.transforms import BAGCopyPaste


def random_boxes(rng, height, width, count, max_size=6):
    """Non-overlapping boxes (1 px apart) of 2..max_size px."""
    boxes = []
    while len(boxes) < count:
        w, h = rng.integers(2, max_size + 1, size=2)
        x, y = rng.integers(0, width - w), rng.integers(0, height - h)
        box = [x, y, x + w, y + h]
        if all(x + w + 1 <= b[0] or b[2] + 1 <= x or y + h + 1 <= b[1]
               or b[3] + 1 <= y for b in boxes):
            boxes.append(box)
    return np.array(boxes, np.float32).reshape(-1, 4)


def make_sample(rng, height, width, num_boxes, sky, dtype=np.uint8,
                channels=3):
    top = np.iinfo(dtype).max
    shape = (height, width, channels) if channels else (height, width)
    img = rng.integers(0, top // 2, size=shape).astype(dtype)
    boxes = random_boxes(rng, height, width, num_boxes)
    return dict(
        img=img,
        img_shape=(height, width),
        gt_bboxes=HorizontalBoxes(boxes),
        gt_bboxes_labels=np.zeros(len(boxes), np.int64),
        gt_ignore_flags=np.zeros(len(boxes), bool),
        gt_seg_map=sky.astype(np.uint8))


def sky_map(rng, height, width, kind):
    sky = np.zeros((height, width), bool)
    if kind == 'top':
        sky[:int(height * rng.uniform(0.2, 0.9))] = True
    elif kind == 'blobs':
        for _ in range(4):
            y, x = rng.integers(0, height), rng.integers(0, width)
            sky[max(0, y - 20):y + 20, max(0, x - 30):x + 30] = True
    elif kind == 'all':
        sky[:] = True
    return sky


def run(transform, dst, src):
    results = copy.deepcopy(dst)
    results['mix_results'] = [copy.deepcopy(src)]
    return transform(results)


def pasted_boxes(out):
    n = out['bag_cp_num_pasted']
    boxes = out['gt_bboxes'].numpy()
    return boxes[len(boxes) - n:] if n else np.zeros((0, 4))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000),
       kind=st.sampled_from(['top', 'blobs', 'all']),
       height=st.integers(40, 160),
       width=st.integers(40, 160),
       num_src=st.integers(0, 30),
       num_dst=st.integers(0, 10),
       clustered=st.booleans())
def test_placement_and_blend_properties(seed, kind, height, width, num_src,
                                        num_dst, clustered):
    rng = np.random.default_rng(seed)
    sky = sky_map(rng, height, width, kind)
    dst = make_sample(rng, height, width, num_dst, sky)
    src = make_sample(rng, height, width, num_src,
                      np.ones((height, width), bool))
    out = run(BAGCopyPaste(clustered=clustered, seed=seed), dst, src)

    boxes = out['gt_bboxes'].numpy()
    new = pasted_boxes(out)
    assert len(boxes) == num_dst + len(new)
    assert len(out['gt_bboxes_labels']) == len(out['gt_ignore_flags']) == \
        len(boxes)
    np.testing.assert_array_equal(boxes[:num_dst], dst['gt_bboxes'].numpy())

    changed = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in new.astype(int):
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert sky[y1:y2, x1:x2].all()
        changed[y1:y2, x1:x2] = True
    # no two boxes overlap: each pasted one keeps a 1 px gap to all others
    for i, (x1, y1, x2, y2) in enumerate(new):
        others = np.delete(boxes, num_dst + i, axis=0)
        gap = ((x1 - 1 < others[:, 2]) & (others[:, 0] < x2 + 1) &
               (y1 - 1 < others[:, 3]) & (others[:, 1] < y2 + 1))
        assert not gap.any()

    before, after = dst['img'], out['img']
    assert after.dtype == before.dtype and after.shape == before.shape
    np.testing.assert_array_equal(after[~changed], before[~changed])
    assert (after[changed] >= before[changed]).all()
    np.testing.assert_array_equal(out['gt_seg_map'], dst['gt_seg_map'])


@pytest.mark.parametrize('dtype,channels', [(np.uint8, 3), (np.uint8, None),
                                            (np.uint16, 1),
                                            (np.uint16, 3)])
def test_keeps_dtype_channels_and_clips(dtype, channels):
    rng = np.random.default_rng(0)
    sky = np.ones((64, 64), bool)
    dst = make_sample(rng, 64, 64, 0, sky, dtype, channels)
    dst['img'][:] = np.iinfo(dtype).max - 3  # nearly saturated
    src = make_sample(rng, 64, 64, 20, sky, dtype, channels)
    src['img'][:] = np.iinfo(dtype).max
    out = run(BAGCopyPaste(seed=1), dst, src)
    assert out['bag_cp_num_pasted'] > 0
    assert out['img'].dtype == dtype and out['img'].shape == dst['img'].shape
    assert out['img'].max() == np.iinfo(dtype).max


def test_no_sky_or_no_source_targets_is_unchanged():
    rng = np.random.default_rng(1)
    no_sky = make_sample(rng, 64, 64, 3, np.zeros((64, 64), bool))
    src = make_sample(rng, 64, 64, 10, np.ones((64, 64), bool))
    empty_src = make_sample(rng, 64, 64, 0, np.ones((64, 64), bool))
    sky_dst = make_sample(rng, 64, 64, 3, np.ones((64, 64), bool))
    for dst, source in ((no_sky, src), (sky_dst, empty_src)):
        out = run(BAGCopyPaste(seed=0), dst, source)
        assert out['bag_cp_num_pasted'] == 0
        np.testing.assert_array_equal(out['img'], dst['img'])
        np.testing.assert_array_equal(out['gt_bboxes'].numpy(),
                                      dst['gt_bboxes'].numpy())


def test_tiny_sky_never_pastes_outside_it():
    rng = np.random.default_rng(2)
    sky = np.zeros((64, 64), bool)
    sky[30:34, 10:13] = True  # 4 x 3 px of sky
    dst = make_sample(rng, 64, 64, 0, sky)
    src = make_sample(rng, 64, 64, 25, np.ones((64, 64), bool))
    for seed in range(20):
        out = run(BAGCopyPaste(seed=seed), dst, src)
        for x1, y1, x2, y2 in pasted_boxes(out).astype(int):
            assert sky[y1:y2, x1:x2].all()
        assert out['bag_cp_num_pasted'] <= 1


def test_same_seed_same_output():
    rng = np.random.default_rng(3)
    sky = sky_map(rng, 128, 128, 'top')
    dst = make_sample(rng, 128, 128, 5, sky)
    src = make_sample(rng, 128, 128, 20, np.ones((128, 128), bool))
    a = run(BAGCopyPaste(seed=7), dst, src)
    b = run(BAGCopyPaste(seed=7), dst, src)
    c = run(BAGCopyPaste(seed=8), dst, src)
    np.testing.assert_array_equal(a['img'], b['img'])
    np.testing.assert_array_equal(a['gt_bboxes'].numpy(),
                                  b['gt_bboxes'].numpy())
    assert not np.array_equal(a['img'], c['img'])


def test_variants():
    rng = np.random.default_rng(4)
    sky = sky_map(rng, 96, 96, 'top')
    dst = make_sample(rng, 96, 96, 0, sky)
    src = make_sample(rng, 96, 96, 30, np.ones((96, 96), bool))
    anywhere = [
        run(BAGCopyPaste(sky_only=False, seed=s), dst, src)
        for s in range(10)
    ]
    assert any(
        not sky[y1:y2, x1:x2].all() for out in anywhere
        for x1, y1, x2, y2 in pasted_boxes(out).astype(int))
    hard = run(BAGCopyPaste(blend='hard', max_num_pasted=30, seed=0), dst,
               src)
    for k, (x1, y1, x2, y2) in enumerate(pasted_boxes(hard).astype(int)):
        patch = hard['img'][y1:y2, x1:x2]
        assert any(
            np.array_equal(patch, src['img'][int(b[1]):int(b[3]),
                                             int(b[0]):int(b[2])])
            for b in src['gt_bboxes'].numpy())
    never = run(BAGCopyPaste(prob=0.0, seed=0), dst, src)
    assert never['bag_cp_num_pasted'] == 0
    filled = run(BAGCopyPaste(seg_fill=7, seed=0), dst, src)
    for x1, y1, x2, y2 in pasted_boxes(filled).astype(int):
        assert (filled['gt_seg_map'][y1:y2, x1:x2] == 7).all()


def test_large_targets_are_shrunk():
    rng = np.random.default_rng(5)
    sky = np.ones((96, 96), bool)
    dst = make_sample(rng, 96, 96, 0, sky)
    src = make_sample(rng, 96, 96, 0, sky)
    src['gt_bboxes'] = HorizontalBoxes(
        np.array([[10, 10, 30, 22], [50, 50, 53, 54]], np.float32))
    src['gt_bboxes_labels'] = np.zeros(2, np.int64)
    src['gt_ignore_flags'] = np.zeros(2, bool)
    sizes = set()
    for seed in range(30):
        for x1, y1, x2, y2 in pasted_boxes(
                run(BAGCopyPaste(seed=seed), dst, src)):
            sizes.add((int(x2 - x1), int(y2 - y1)))
    assert sizes == {(7, 7), (3, 4)}


def test_real_config_pipeline_keeps_boxes_on_the_image(real_root):
    """BAG-CP in the paper config on real DenseSIRST images: after resize
    and flip, the pixels that changed are exactly inside pasted boxes, which
    lie on sky of the (flipped) sky map; the original boxes are untouched."""
    from mmengine.config import Config

    from bafenet.registry import DATASETS
    from bafenet.utils import set_data_root
    from tests.conftest import REPO_ROOT

    cfg = Config.fromfile(
        REPO_ROOT / 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py')
    set_data_root(cfg, str(real_root))
    mix_cfg = cfg.train_dataloader.dataset
    mix_cfg.dataset.times = 1
    mix_cfg.dataset.dataset.ann_file = 'Splits/mini_test.txt'
    mix_cfg.pipeline = [dict(type='BAGCopyPaste', seed=0)]
    mixed = DATASETS.build(mix_cfg)
    plain = mixed.dataset

    seen_flips = set()
    for idx in range(len(plain)):
        for seed in range(3):
            np.random.seed(seed)
            with_cp = mixed[idx]
            np.random.seed(seed)
            without = plain[idx]
            assert with_cp['flip'] == without['flip']
            seen_flips.add(with_cp['flip'])
            n = with_cp['bag_cp_num_pasted']
            boxes = with_cp['gt_bboxes'].numpy()
            np.testing.assert_array_equal(boxes[:len(boxes) - n],
                                          without['gt_bboxes'].numpy())
            diff = with_cp['img'].astype(int) - without['img'].astype(int)
            assert (diff >= 0).all()
            inside = np.zeros(diff.shape[:2], bool)
            sky = with_cp['gt_seg_map'] == 1
            for x1, y1, x2, y2 in boxes[len(boxes) - n:].astype(int):
                inside[y1:y2, x1:x2] = True
                assert sky[y1:y2, x1:x2].all()
            assert not diff[~inside].any()
            if n:
                assert diff[inside].any()
    assert seen_flips == {True, False}


def test_source_bank_replaces_the_second_load_once_full():
    rng = np.random.default_rng(6)
    sky = np.ones((64, 64), bool)
    transform = BAGCopyPaste(source_bank_size=3, blend='hard', seed=0)
    seen = []
    for _ in range(3):
        assert len(transform.get_indexes(range(10))) == 1
        dst = make_sample(rng, 64, 64, 6, sky)
        seen.append(dst)
        run(transform, dst, make_sample(rng, 64, 64, 6, sky))
    assert transform.get_indexes(range(10)) == []
    known = [
        s['img'][int(b[1]):int(b[3]), int(b[0]):int(b[2])]
        for s in seen for b in s['gt_bboxes'].numpy()
    ]
    pasted_any = False
    for _ in range(5):
        dst = make_sample(rng, 64, 64, 0, sky)
        dst['mix_results'] = []
        out = transform(copy.deepcopy(dst))
        for x1, y1, x2, y2 in pasted_boxes(out).astype(int):
            patch = out['img'][y1:y2, x1:x2]
            assert any(np.array_equal(patch, k) for k in known)
            pasted_any = True
    assert pasted_any


def test_without_a_source_the_error_says_what_to_do():
    rng = np.random.default_rng(7)
    dst = make_sample(rng, 32, 32, 2, np.ones((32, 32), bool))
    with pytest.raises(KeyError, match='MultiImageMixDataset'):
        BAGCopyPaste(seed=0)(dst)

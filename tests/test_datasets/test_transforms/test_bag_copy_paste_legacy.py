"""OriginalBAGCopyPaste, which reproduces the original SkyCopyPaste, one
behaviour at a time, on hand-checked cases."""
import copy

import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from bafenet.datasets.transforms import BAGCopyPaste, OriginalBAGCopyPaste

BEHAVIOURS = ('box_rounding', 'patch_crop', 'single_pixel_blend',
              'window_carry_over')


def original(*behaviours, **kwargs):
    """OriginalBAGCopyPaste with only the named behaviours of the original
    on, else BAGCopyPaste's arguments."""
    assert set(behaviours) <= set(BEHAVIOURS)
    switches = {name: name in behaviours for name in BEHAVIOURS}
    return OriginalBAGCopyPaste(**switches, **kwargs)

# Misc_214 (300 x 194) resized to 512 x 512: VOC box minus 1, times
# (512 / 300, 512 / 194); e.g. the first, (23, 25, 26, 29) in the XML, is
# (22 * 1.70667, 24 * 2.63918, 25 * 1.70667, 28 * 2.63918)
# = (37.547, 63.340, 42.667, 73.897), floored to (37, 63, 42, 73).
MISC_214_FLOORED = [
    [37, 63, 42, 73], [47, 65, 52, 73], [58, 68, 63, 79], [35, 79, 40, 87],
    [54, 84, 61, 92], [42, 89, 47, 100], [54, 95, 59, 105],
    [233, 184, 266, 213], [110, 416, 117, 424], [97, 427, 104, 435],
    [112, 430, 116, 440], [98, 440, 105, 448], [110, 448, 119, 459],
    [93, 451, 97, 459]
]


def load_real(real_root, names):
    """Real samples resized to 512 x 512 (no flip), as the train pipeline
    gives them."""
    from bafenet.registry import DATASETS
    split = real_root / 'Splits/mini_test.txt'
    assert set(names) <= set(split.read_text().split())
    dataset = DATASETS.build(
        dict(
            type='DenseSIRSTDataset',
            data_root=str(real_root),
            ann_file='Splits/mini_test.txt',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadDetSegAnnotations'),
                dict(type='Resize', scale=(512, 512), keep_ratio=False)
            ]))
    samples = {}
    for idx in range(len(dataset)):
        sample = dataset[idx]
        samples[sample['img_path'].rsplit('/', 1)[-1][:-4]] = sample
    return [samples[name] for name in names]


def paste(transform, dst, src):
    results = copy.deepcopy(dst)
    results['mix_results'] = [copy.deepcopy(src)]
    return transform(results)


def test_box_rounding_floors_a_real_sample(real_root):
    dst, src = load_real(real_root, ['Misc_214', 'Misc_70'])
    assert dst['gt_bboxes'].numpy()[0] == pytest.approx(
        [37.5467, 63.3402, 42.6667, 73.8969], abs=1e-3)
    legacy = paste(original('box_rounding', seed=0), dst, src)
    ours = paste(BAGCopyPaste(seed=0), dst, src)
    n = legacy['bag_cp_num_pasted']
    assert n > 0 and n == ours['bag_cp_num_pasted']
    boxes = legacy['gt_bboxes'].numpy()
    np.testing.assert_array_equal(boxes[:len(boxes) - n], MISC_214_FLOORED)
    np.testing.assert_array_equal(ours['gt_bboxes'].numpy()[:14],
                                  dst['gt_bboxes'].numpy())
    # the same draws: the pasted boxes are the same integer boxes
    np.testing.assert_array_equal(boxes[14:], ours['gt_bboxes'].numpy()[14:])
    assert len(legacy['gt_bboxes_labels']) == len(boxes)


def test_box_rounding_drops_boxes_that_floor_to_nothing():
    sky = np.ones((64, 64), np.uint8)
    dst = dict(
        img=np.zeros((64, 64, 3), np.uint8),
        gt_bboxes=HorizontalBoxes(
            np.array([[50.2, 60.1, 50.9, 63.0], [3.2, 4.1, 3.9, 6.0],
                      [20.5, 30.5, 23.2, 32.9]], np.float32)),
        gt_bboxes_labels=np.array([0, 1, 2]),
        gt_ignore_flags=np.array([False, True, False]),
        gt_seg_map=sky)
    OriginalBAGCopyPaste.floor_boxes(dst)
    # the first is empty far from the origin: dropped by the original's
    # occlusion filter; the second is empty but within 10 px of
    # [0, 0, 0, 0]: kept as that
    np.testing.assert_array_equal(dst['gt_bboxes'].numpy(),
                                  [[0, 0, 0, 0], [20, 30, 23, 32]])
    assert dst['gt_bboxes_labels'].tolist() == [1, 2]
    assert dst['gt_ignore_flags'].tolist() == [True, False]


def test_patch_crop():
    img = np.arange(40 * 40, dtype=np.uint16).reshape(40, 40)
    box = np.array([10.7, 20.2, 13.9, 22.8])
    ours = BAGCopyPaste().crop(img, box)
    legacy = original('patch_crop').crop(img, box)
    # ours: every pixel the box touches, x 10..13, y 20..22
    np.testing.assert_array_equal(ours[..., 0], img[20:23, 10:14])
    # original: int(x2) - int(x1) = 3 wide from x 10, 2 tall from y 20
    np.testing.assert_array_equal(legacy[..., 0], img[20:22, 10:13])
    empty = original('patch_crop').crop(
        img, np.array([5.2, 5.1, 5.9, 7.0]))
    assert empty.shape == (2, 0, 1)


def test_empty_patches_are_not_pasted():
    sky = np.ones((32, 32), np.uint8)
    dst = dict(
        img=np.zeros((32, 32, 3), np.uint8),
        gt_bboxes=HorizontalBoxes(np.zeros((0, 4), np.float32)),
        gt_bboxes_labels=np.zeros(0, np.int64),
        gt_ignore_flags=np.zeros(0, bool),
        gt_seg_map=sky)
    src = dict(dst, img=np.full((32, 32, 3), 100, np.uint8))
    src['gt_bboxes'] = HorizontalBoxes(
        np.array([[5.2, 5.1, 5.9, 7.0]], np.float32))
    src['gt_bboxes_labels'] = np.zeros(1, np.int64)
    src['gt_ignore_flags'] = np.zeros(1, bool)
    for seed in range(6):
        out = paste(
            original('patch_crop', seed=seed), dst, src)
        assert out['bag_cp_num_pasted'] == 0 and len(out['gt_bboxes']) == 0
        assert not out['img'].any()


@pytest.mark.parametrize('legacy', [False, True])
def test_single_pixel_blend(legacy):
    sky = np.ones((16, 16), np.uint8)
    dst = dict(
        img=np.full((16, 16, 3), 20, np.uint8),
        gt_bboxes=HorizontalBoxes(np.zeros((0, 4), np.float32)),
        gt_bboxes_labels=np.zeros(0, np.int64),
        gt_ignore_flags=np.zeros(0, bool),
        gt_seg_map=sky)
    src = dict(dst, img=np.full((16, 16, 3), 40, np.uint8))
    src['gt_bboxes'] = HorizontalBoxes(
        np.array([[3.0, 4.0, 4.0, 5.0]], np.float32))
    src['gt_bboxes_labels'] = np.zeros(1, np.int64)
    src['gt_ignore_flags'] = np.zeros(1, bool)
    transform = original(*['single_pixel_blend'] * legacy, seed=0)
    for _ in range(5):
        out = paste(transform, dst, src)
        if out['bag_cp_num_pasted']:
            break
    x, y = out['gt_bboxes'].numpy()[0, :2].astype(int)
    pixel = out['img'][y, x]
    if legacy:
        # the original's 0 / 0 Gaussian: min(255, NaN) = 255
        assert pixel.tolist() == [255, 255, 255]
    else:
        # G = 1: 20 + lambda * 40 with lambda in [0.5, 1)
        assert 40 <= pixel[0] < 60 and len(set(pixel.tolist())) == 1
    changed = (out['img'] != 20).any(axis=2)
    assert changed.sum() == 1


@pytest.mark.parametrize('carry_over', [False, True])
def test_window_carry_over(carry_over):
    # sky 12 rows tall: no window of 13 px or more fits (with the margin,
    # 10 px does), so the first cluster shrinks its window to 10 px
    sky = np.zeros((64, 200), bool)
    sky[:12] = True
    transform = original(
        *['window_carry_over'] * carry_over, min_window_size=10, seed=0)
    assert transform.window_sizes == [25, 22, 19, 16, 13, 10]
    first_sizes = []
    find_window = transform.find_window

    def spy(*args):
        first_sizes.append(args[-1])
        return find_window(*args)

    transform.find_window = spy
    positions = transform.place([(2, 2)] * 10, sky, np.zeros((0, 4)))
    assert all(p is not None for p in positions)
    assert first_sizes == ([0, 5] if carry_over else [0, 0])

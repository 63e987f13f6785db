"""RandomTargetCrop: windows at native resolution that hold a target."""
import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from bafenet.datasets import DenseSIRSTDataset
from bafenet.datasets.transforms import LoadDetSegAnnotations, RandomTargetCrop
from bafenet.registry import TRANSFORMS


def sample(boxes, height=100, width=120):
    """A results dict with a ramp image (each pixel encodes its position),
    the same ramp as sky map, and ``boxes`` (N, 4)."""
    ys, xs = np.mgrid[:height, :width]
    ramp = (ys * width + xs).astype(np.int32)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return dict(
        img=np.stack([ramp] * 3, -1),
        img_shape=(height, width),
        gt_bboxes=HorizontalBoxes(boxes),
        gt_bboxes_labels=np.zeros(len(boxes), np.int64),
        gt_ignore_flags=np.zeros(len(boxes), bool),
        gt_seg_map=ramp.copy())


def window_of(results, width=120):
    """(top, left) of the crop, read back from the ramp image."""
    first = int(results['img'][0, 0, 0])
    return first // width, first % width


def test_window_holds_the_chosen_target_anywhere():
    boxes = [[50, 40, 53, 44]]
    crop = RandomTargetCrop(crop_size=(32, 24))
    np.random.seed(0)
    corners = []
    for _ in range(400):
        out = crop(sample(boxes))
        assert out['img'].shape == (24, 32, 3)
        assert out['img_shape'] == (24, 32)
        top, left = window_of(out)
        corners.append((top, left))
        # the box moved with the window and lies wholly inside it
        np.testing.assert_allclose(out['gt_bboxes'].numpy(),
                                   [[50 - left, 40 - top, 53 - left,
                                     44 - top]])
        np.testing.assert_array_equal(out['gt_seg_map'], out['img'][..., 0])
        np.testing.assert_array_equal(
            out['homography_matrix'],
            [[1, 0, -left], [0, 1, -top], [0, 0, 1]])
    tops, lefts = np.array(corners).T
    # every start that holds the box is reachable: top in [44 - 24, 40],
    # left in [53 - 32, 50]
    assert (tops.min(), tops.max()) == (20, 40)
    assert (lefts.min(), lefts.max()) == (21, 50)


def test_other_boxes_are_clipped_or_dropped():
    # the chosen box is drawn at random: with the window at the image's
    # top-left corner (it must hold box 0), box 1 is cut and box 2 is out
    boxes = [[0, 0, 3, 3], [18, 5, 26, 9], [60, 60, 64, 64]]
    crop = RandomTargetCrop(crop_size=(20, 20))
    np.random.seed(1)
    seen = 0
    for _ in range(60):
        out = crop(sample(boxes))
        if window_of(out) != (0, 0):
            continue
        seen += 1
        np.testing.assert_allclose(out['gt_bboxes'].numpy(),
                                   [[0, 0, 3, 3], [18, 5, 20, 9]])
        assert len(out['gt_bboxes_labels']) == len(
            out['gt_ignore_flags']) == 2
    assert seen > 0


@pytest.mark.parametrize(
    'boxes, size, expected_corner',
    [
        # a box wider than the window is centred in it (x); a box on the
        # image's bottom edge puts the window there (y)
        ([[10, 85, 50, 100]], (20, 20), (80, 20)),
        # a target at the bottom-right corner of the image
        ([[116, 96, 119, 99]], (120, 100), (0, 0)),
    ])
def test_edge_cases(boxes, size, expected_corner):
    out = RandomTargetCrop(crop_size=size)(sample(boxes))
    assert window_of(out) == expected_corner
    assert out['img'].shape[:2] == (size[1], size[0])


def test_small_frames_and_frames_without_targets():
    crop = RandomTargetCrop(crop_size=(200, 50))
    out = crop(sample([[5, 5, 8, 8]]))
    assert out['img'].shape[:2] == (50, 120)  # the width is kept whole
    out = crop(sample(np.zeros((0, 4))))
    assert out['img'].shape[:2] == (50, 120)
    assert len(out['gt_bboxes']) == 0


def test_bad_crop_size():
    for size in [(0, 8), (8.0, 8), (8, )]:
        with pytest.raises(ValueError, match='crop_size'):
            RandomTargetCrop(crop_size=size)


def test_real_frames_keep_their_resolution(real_root):
    dataset = DenseSIRSTDataset(
        data_root=str(real_root),
        ann_file='Splits/mini_trainval.txt',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadDetSegAnnotations')
        ])
    crop = TRANSFORMS.build(dict(type='RandomTargetCrop', crop_size=(96, 64)))
    assert isinstance(dataset.pipeline.transforms[1], LoadDetSegAnnotations)
    np.random.seed(0)
    for index in range(len(dataset)):
        full = dataset[index]
        img, seg = full['img'], full['gt_seg_map']
        boxes = full['gt_bboxes'].numpy().copy()
        out = crop(full)
        left, top = -out['homography_matrix'][:2, 2].astype(int)
        h, w = out['img'].shape[:2]
        assert (h, w) == (min(64, img.shape[0]), min(96, img.shape[1]))
        np.testing.assert_array_equal(out['img'], img[top:top + h,
                                                       left:left + w])
        np.testing.assert_array_equal(out['gt_seg_map'],
                                      seg[top:top + h, left:left + w])
        # at least one original box lies wholly in the window, unchanged
        inside = ((boxes[:, 0] >= left) & (boxes[:, 1] >= top) &
                  (boxes[:, 2] <= left + w) & (boxes[:, 3] <= top + h))
        assert inside.any()
        shifted = boxes[inside] - [left, top, left, top]
        kept = out['gt_bboxes'].numpy()
        assert all((np.abs(kept - box).max(1) < 1e-4).any()
                   for box in shifted)

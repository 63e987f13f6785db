"""PixelBoxRandomFlip: a flipped box covers the flipped pixels of its
target, on a real DenseSIRST frame."""
import copy

import numpy as np
import pytest

from bafenet.datasets import DenseSIRSTDataset
from bafenet.registry import TRANSFORMS


def pixels_under(results, box):
    """The image pixels of an inclusive pixel-index box ``x1 y1 x2 y2``."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    return results['img'][y1:y2 + 1, x1:x2 + 1]


@pytest.fixture(scope='module')
def real_sample(real_root):
    dataset = DenseSIRSTDataset(
        data_root=str(real_root),
        ann_file='Splits/train_v2.txt',
        indices=1,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadDetSegAnnotations')
        ])
    return dataset[0]


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_flipped_boxes_cover_the_flipped_target_pixels(real_sample,
                                                       direction):
    flip = TRANSFORMS.build(
        dict(type='PixelBoxRandomFlip', prob=1.0, direction=direction))
    mmdet_flip = TRANSFORMS.build(
        dict(type='RandomFlip', prob=1.0, direction=direction))
    before = real_sample['gt_bboxes'].tensor.numpy()
    ours = flip(copy.deepcopy(real_sample))
    theirs = mmdet_flip(copy.deepcopy(real_sample))
    axes = dict(horizontal=[1], vertical=[0], diagonal=[0, 1])[direction]
    assert len(before) > 3
    for i, box in enumerate(before):
        target = np.flip(pixels_under(real_sample, box), axes)
        flipped = ours['gt_bboxes'].tensor[i]
        np.testing.assert_array_equal(pixels_under(ours, flipped), target)
    # mmdet's flip puts each box one pixel further along the flipped axes
    shift = np.array([1 if direction != 'vertical' else 0,
                      1 if direction != 'horizontal' else 0] * 2)
    np.testing.assert_allclose(
        theirs['gt_bboxes'].tensor.numpy() - ours['gt_bboxes'].tensor.numpy(),
        np.broadcast_to(shift, before.shape))
    # the sky map flips as in mmdet, and the homography maps box corners
    np.testing.assert_array_equal(ours['gt_seg_map'], theirs['gt_seg_map'])
    corners = np.concatenate([before[:, :2], np.ones((len(before), 1))], 1)
    mapped = corners @ ours['homography_matrix'].T
    flipped = ours['gt_bboxes'].tensor.numpy()
    expect_x = flipped[:, 2] if direction != 'vertical' else flipped[:, 0]
    expect_y = flipped[:, 3] if direction != 'horizontal' else flipped[:, 1]
    np.testing.assert_allclose(mapped[:, 0], expect_x)
    np.testing.assert_allclose(mapped[:, 1], expect_y)


def test_flipping_twice_restores_the_boxes(real_sample):
    flip = TRANSFORMS.build(
        dict(type='PixelBoxRandomFlip', prob=1.0, direction='diagonal'))
    twice = flip(flip(copy.deepcopy(real_sample)))
    np.testing.assert_allclose(twice['gt_bboxes'].tensor.numpy(),
                               real_sample['gt_bboxes'].tensor.numpy())
    np.testing.assert_array_equal(twice['img'], real_sample['img'])

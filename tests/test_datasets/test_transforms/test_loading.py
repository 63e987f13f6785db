"""The training pipeline of the real config on real images: boxes, image and
sky map stay aligned through loading, resize and flip."""
import copy

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from PIL import Image

from bafenet.datasets import DenseSIRSTDataset
from bafenet.datasets.transforms import LoadDetSegAnnotations
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/_base_/datasets/densesirst.py'


def partly_sky_sample(real_root):
    """A test_v2 sample whose sky covers 20-80% of the frame."""
    dataset = DenseSIRSTDataset(
        data_root=str(real_root), ann_file='Splits/test_v2.txt',
        pipeline=[], test_mode=True)
    for info in dataset:
        with Image.open(info['seg_map_path']) as seg:
            fraction = np.asarray(seg).mean()
        if 0.2 < fraction < 0.8 and len(info['instances']) >= 5:
            return info
    pytest.fail('no partly-sky sample in test_v2')


def run_pipeline(info, flip_prob):
    cfg = Config.fromfile(CONFIG)
    pipeline = copy.deepcopy(cfg.train_pipeline)
    for step in pipeline:
        if step['type'] == 'RandomFlip':
            step['prob'] = flip_prob
    return Compose(pipeline)(copy.deepcopy(info))


def test_pipeline_keeps_boxes_and_sky_aligned(real_root):
    info = partly_sky_sample(real_root)
    plain = run_pipeline(info, flip_prob=0.0)
    flipped = run_pipeline(info, flip_prob=1.0)

    assert plain['img'].shape[:2] == plain['gt_seg_map'].shape == (512, 512)
    assert plain['gt_seg_map'].dtype == np.uint8
    # The resized sky map is the nearest-neighbour resize of the original.
    with Image.open(info['seg_map_path']) as seg:
        original = np.asarray(seg)
    expected = np.asarray(
        Image.fromarray(original).resize((512, 512), Image.NEAREST))
    assert (plain['gt_seg_map'] == expected).mean() > 0.99
    # Boxes follow the scale factor.
    sx, sy = 512 / info['width'], 512 / info['height']
    raw = np.array([inst['bbox'] for inst in info['instances']])
    np.testing.assert_allclose(
        plain['gt_bboxes'].numpy(), raw * [sx, sy, sx, sy], rtol=1e-5)

    # Flipping moves image, sky map and boxes together.
    np.testing.assert_array_equal(flipped['img'], plain['img'][:, ::-1])
    np.testing.assert_array_equal(flipped['gt_seg_map'],
                                  plain['gt_seg_map'][:, ::-1])
    boxes = plain['gt_bboxes'].numpy()
    mirrored = np.stack(
        [512 - boxes[:, 2], boxes[:, 1], 512 - boxes[:, 0], boxes[:, 3]], 1)
    np.testing.assert_allclose(flipped['gt_bboxes'].numpy(), mirrored,
                               atol=1e-4)

    # Targets are labelled as sky: box centres land on sky in both versions,
    # which a sky map left unflipped would break for this partly-sky frame.
    for result in (plain, flipped):
        b = result['gt_bboxes'].numpy()
        cx = np.clip(((b[:, 0] + b[:, 2]) / 2).astype(int), 0, 511)
        cy = np.clip(((b[:, 1] + b[:, 3]) / 2).astype(int), 0, 511)
        assert result['gt_seg_map'][cy, cx].mean() > 0.9


def test_loader_fills_missing_sky_map_with_ignore():
    loader = LoadDetSegAnnotations(with_bbox=False)
    results = loader(dict(seg_map_path=None, ori_shape=(4, 6)))
    assert results['gt_seg_map'].shape == (4, 6)
    assert (results['gt_seg_map'] == 255).all()


def test_loader_rejects_wrong_values_and_sizes(tmp_path):
    path = tmp_path / 'sky.png'
    Image.fromarray(np.full((4, 6), 7, np.uint8)).save(path)
    loader = LoadDetSegAnnotations(with_bbox=False)
    with pytest.raises(ValueError, match=r'sky\.png: sky map holds values'):
        loader(dict(seg_map_path=str(path), ori_shape=(4, 6)))
    Image.fromarray(np.ones((4, 6), np.uint8)).save(path)
    with pytest.raises(ValueError, match=r'sky\.png: sky map shape'):
        loader(dict(seg_map_path=str(path), ori_shape=(5, 6)))

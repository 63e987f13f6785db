"""SkyDetInferencer on real test_v2 images with a tiny random BAFE-Net."""
import json

import mmcv
import numpy as np
import pytest
import torch

from bafenet.apis import SkyDetInferencer, inference_detector, init_detector
from bafenet.utils import CheckpointError
from tests.tiny_configs import tiny_bafenet_config

#: Real test_v2 frames of different sizes (squashed to one input size).
IMAGES = ('Misc_199', 'Misc_13')


@pytest.fixture(scope='module')
def inferencer(real_root):
    torch.manual_seed(0)
    return SkyDetInferencer(
        tiny_bafenet_config(real_root), show_progress=False)


@pytest.fixture(scope='module')
def images(real_root):
    return [str(real_root / 'PNGImages' / f'{name}.png') for name in IMAGES]


def test_predictions_hold_boxes_and_the_sky(inferencer, images):
    out = inferencer(images, batch_size=2)
    assert out['visualization'] == []
    for img_path, pred in zip(images, out['predictions']):
        sample = inference_detector(inferencer.model, img_path)
        np.testing.assert_allclose(
            pred['bboxes'], sample.pred_instances.bboxes, atol=1e-4)
        np.testing.assert_allclose(
            pred['scores'], sample.pred_instances.scores, atol=1e-5)
        assert pred['labels'] == sample.pred_instances.labels.tolist()
        assert 0 < len(pred['scores']) <= 100
        assert np.all(np.diff(pred['scores']) <= 0)
        height, width = mmcv.imread(img_path).shape[:2]
        sky = pred['sky_map']
        assert sky.shape == (height, width) and sky.dtype == np.uint8
        np.testing.assert_array_equal(sky,
                                      sample.pred_sem_seg.sem_seg[0].numpy())
        assert 0 < pred['sky_fraction'] < 1
        assert pred['sky_fraction'] == pytest.approx(sky.mean())
    # A batch of 2 gives what batches of 1 give.
    alone = inferencer(images[1])['predictions'][0]
    np.testing.assert_allclose(
        alone['scores'], out['predictions'][1]['scores'], atol=1e-5)


def test_pictures_and_files(inferencer, images, tmp_path):
    plain = inferencer(images, out_dir=str(tmp_path / 'plain'),
                       pred_score_thr=1.0, return_vis=True,
                       no_save_pred=False)
    boxed = inferencer(images, pred_score_thr=0.0, return_vis=True)
    for name, img_path, pred, vis, vis_boxed in zip(
            IMAGES, images, plain['predictions'], plain['visualization'],
            boxed['visualization']):
        original = mmcv.imread(img_path, channel_order='rgb')
        picture = mmcv.imread(
            tmp_path / 'plain' / 'vis' / f'{name}.png', channel_order='rgb')
        np.testing.assert_array_equal(picture, vis)
        assert picture.shape == original.shape
        # The sky overlay changes sky pixels only (no box scores above 1).
        sky_path = tmp_path / 'plain' / 'preds' / f'{name}_sky.png'
        assert pred['sky_map_path'] == str(sky_path)
        sky = mmcv.imread(sky_path, flag='unchanged') == 255
        assert 0 < sky.mean() < 1
        changed = np.any(picture != original, axis=-1)
        assert not changed[~sky].any()
        assert changed[sky].mean() > 0.9
        # Boxes above the threshold are outlined over it.
        outlined = np.any(vis_boxed != vis, axis=-1)
        assert 0 < outlined.mean() < 0.5
        record = json.loads(
            (tmp_path / 'plain' / 'preds' / f'{name}.json').read_text())
        assert record['sky_fraction'] == pytest.approx(sky.mean())
        np.testing.assert_allclose(record['bboxes'], pred['bboxes'])


def test_a_checkpoint_of_another_model_is_refused(real_root, tmp_path):
    fcos = init_detector(
        tiny_bafenet_config(
            real_root, config='fcos/fcos_r18_fpn_20e_densesirst.py'))
    checkpoint = tmp_path / 'fcos.pth'
    torch.save(dict(state_dict=fcos.state_dict(), meta=dict()), checkpoint)
    bafenet = tiny_bafenet_config(real_root)
    # BAFE-Net's sky branch and exchange are missing from FCOS's weights.
    for load in (lambda: SkyDetInferencer(bafenet, str(checkpoint)),
                 lambda: init_detector(bafenet, checkpoint),
                 lambda: SkyDetInferencer(bafenet, str(checkpoint),
                                          tile=True)):
        with pytest.raises(CheckpointError, match=r'fcos\.pth(.|\n)*'
                           r'bbox_head\.(conv_seg|seg|lsk|exchange)'):
            load()
    partial = SkyDetInferencer(
        bafenet, str(checkpoint), allow_partial=True, show_progress=False)
    torch.testing.assert_close(partial.model.backbone.conv1.weight,
                               fcos.backbone.conv1.weight)

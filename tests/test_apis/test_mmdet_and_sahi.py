"""mmdet's DetInferencer and SAHI's mmdet model on bafenet's config, with
``scope='bafenet'``: the boxes of SkyDetInferencer on a real frame."""
import numpy as np
import pytest
import torch

from bafenet.apis import SkyDetInferencer, init_detector
from tests.tiny_configs import tiny_bafenet_config

FRAME = 'Misc_199'


@pytest.fixture(scope='module')
def model_files(real_root, tmp_path_factory):
    """A tiny BAFE-Net config file and a checkpoint of its random weights
    (with the dataset's class names), and the frame."""
    folder = tmp_path_factory.mktemp('model')
    cfg = tiny_bafenet_config(real_root)
    cfg.model.test_cfg.score_thr = 0.05
    torch.manual_seed(0)
    model = init_detector(cfg)
    config = folder / 'tiny_bafenet.py'
    cfg.dump(str(config))
    checkpoint = folder / 'tiny_bafenet.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=model.dataset_meta)), checkpoint)
    frame = str(real_root / 'PNGImages' / f'{FRAME}.png')
    expected = SkyDetInferencer(
        str(config), str(checkpoint),
        show_progress=False)(frame)['predictions'][0]
    assert len(expected['scores']) > 0
    return str(config), str(checkpoint), frame, expected


def test_det_inferencer_needs_and_takes_the_scope(model_files):
    from mmdet.apis import DetInferencer
    config, checkpoint, frame, expected = model_files
    with pytest.raises(KeyError, match='BAFENet is not in the mmdet::model'):
        DetInferencer(config, checkpoint, device='cpu')
    inferencer = DetInferencer(
        config, checkpoint, device='cpu', scope='bafenet',
        show_progress=False)
    pred = inferencer(frame)['predictions'][0]
    np.testing.assert_allclose(pred['scores'], expected['scores'], atol=1e-6)
    np.testing.assert_allclose(pred['bboxes'], expected['bboxes'], atol=1e-4)


def test_sahi_gives_the_inferencers_boxes(model_files):
    from sahi import AutoDetectionModel
    from sahi.predict import get_prediction
    config, checkpoint, frame, expected = model_files
    model = AutoDetectionModel.from_pretrained(
        model_type='mmdet',
        model_path=checkpoint,
        config_path=config,
        confidence_threshold=0.05,
        device='cpu',
        scope='bafenet')
    found = get_prediction(frame, model).object_prediction_list
    found = sorted(found, key=lambda p: -p.score.value)
    boxes = np.array([p.bbox.to_xyxy() for p in found])
    scores = np.array([p.score.value for p in found])
    keep = np.array(expected['scores']) >= 0.05
    np.testing.assert_allclose(
        scores, np.array(expected['scores'])[keep], atol=1e-6)
    np.testing.assert_allclose(
        boxes, np.array(expected['bboxes'])[keep], atol=1e-3)

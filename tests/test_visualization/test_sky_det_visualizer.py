"""Pictures read at a glance: rings that leave 3 px targets visible, scores,
titles, a legend and an outlined sky, on a real test_v2 frame and its
ground truth."""
import cv2
import mmcv
import numpy as np
import pytest
import torch

from bafenet.registry import DATASETS
from bafenet.visualization import SkyDetLocalVisualizer
from bafenet.visualization.sky_det_visualizer import BAND_HEIGHT
from tests.tiny_configs import tiny_bafenet_config

FRAME = 'Misc_230'
META = dict(palette=[(0, 255, 0)], seg_palette=[(0, 0, 0), (128, 0, 0)])


@pytest.fixture(scope='module')
def frame(real_root, tmp_path_factory):
    """The RGB frame and its ground-truth sample (boxes and sky map at the
    frame's size), through the dataset."""
    split = tmp_path_factory.mktemp('split') / 'one.txt'
    split.write_text(FRAME)
    cfg = tiny_bafenet_config(real_root).test_dataloader.dataset
    cfg.update(ann_file=str(split))
    sample = DATASETS.build(cfg)[0]['data_samples']
    image = mmcv.imread(
        real_root / 'PNGImages' / f'{FRAME}.png', channel_order='rgb')
    return image, sample


def visualizer(name, **kwargs):
    vis = SkyDetLocalVisualizer(name=name, **kwargs)
    vis.dataset_meta = META
    return vis


def test_rings_leave_small_targets_visible(frame):
    image, sample = frame
    vis = visualizer('rings')
    instances = sample.gt_instances
    bboxes = instances.bboxes.tensor
    sizes = (bboxes[:, 2:] - bboxes[:, :2]).max(dim=1).values
    assert sizes.min() <= 4, 'the frame should hold a target of a few px'
    for i in range(len(instances)):
        one = instances[i:i + 1]
        drawn = vis.draw_targets(image, one)
        x1, y1, x2, y2 = bboxes[i].tolist()
        # The box's own pixels and the 2 px around them stay as they were.
        left, top = int(np.floor(x1)), int(np.floor(y1))
        right, bottom = int(np.ceil(x2)), int(np.ceil(y2))
        clear = (slice(max(top - 2, 0), bottom + 2),
                 slice(max(left - 2, 0), right + 2))
        np.testing.assert_array_equal(drawn[clear], image[clear])
        # The ring just outside that is drawn, and nothing else.
        rx1, ry1, rx2, ry2 = vis.ring(bboxes[i].tolist())
        assert (rx1, ry1, rx2, ry2) == (left - 3, top - 3, right + 2,
                                        bottom + 2)
        ring = np.zeros(image.shape[:2], np.uint8)
        cv2.rectangle(ring, (rx1, ry1), (rx2, ry2), 1, 1)
        ring = ring.astype(bool)
        assert ring.any()
        assert (drawn[ring] == (0, 255, 0)).all()
        np.testing.assert_array_equal(drawn[~ring], image[~ring])


def test_scores_are_written_on_request_beside_the_ring(frame):
    image, sample = frame
    pred = sample.gt_instances[:3].clone()
    pred.bboxes = pred.bboxes.tensor
    pred.scores = torch.tensor([0.91, 0.52, 0.35])
    plain = visualizer('no_scores').draw_targets(image, pred)
    scored = visualizer('scores', show_scores=True).draw_targets(image, pred)
    written = np.any(scored != plain, axis=-1)
    assert written.sum() > 50
    for x1, y1, x2, y2 in pred.bboxes.tolist():
        box = (slice(int(y1), int(np.ceil(y2))), slice(int(x1),
                                                       int(np.ceil(x2))))
        assert not written[box].any()


def test_titled_panels_and_legend(frame):
    image, sample = frame
    sample = sample.clone()
    pred = sample.gt_instances.clone()
    pred.bboxes = pred.bboxes.tensor
    pred.scores = torch.full((len(pred), ), 0.9)
    sample.pred_instances = pred
    sample.pred_sem_seg = sample.gt_sem_seg
    height, width = image.shape[:2]

    plain = visualizer('untitled')
    plain.add_datasample('frame', image, sample, out_file=None)
    assert plain.get_image().shape == (height, 2 * width, 3)

    vis = visualizer('titled', titles=True, legend=True)
    vis.add_datasample('frame', image, sample)
    picture = vis.get_image()
    assert picture.shape == (height + 2 * BAND_HEIGHT, 2 * width, 3)
    # The panels under their titles are the untitled picture.
    np.testing.assert_array_equal(picture[BAND_HEIGHT:-BAND_HEIGHT],
                                  plain.get_image())
    left, right = (picture[:BAND_HEIGHT, :width],
                   picture[:BAND_HEIGHT, width:])
    # White text on both bands, and different texts.
    assert (left > 200).all(axis=-1).sum() > 20
    assert (right > 200).all(axis=-1).sum() > 20
    assert not np.array_equal(left, right)
    legend = picture[-BAND_HEIGHT:]
    for color in ((0, 255, 0), (128, 0, 0)):
        assert (legend == color).all(axis=-1).sum() >= 25, color


def test_sky_is_tinted_and_outlined_and_ground_stays(frame):
    image, sample = frame
    vis = visualizer('sky')
    drawn = vis.draw_sky(image, sample.gt_sem_seg)
    sky = sample.gt_sem_seg.sem_seg[0].numpy() == 1
    assert 0 < sky.mean() < 1
    np.testing.assert_array_equal(drawn[~sky], image[~sky])
    inner = cv2.erode(sky.astype(np.uint8), np.ones((3, 3), np.uint8),
                      borderType=cv2.BORDER_REPLICATE).astype(bool)
    border = sky & ~inner
    assert border.any()
    assert (drawn[border] == (128, 0, 0)).all()
    tinted = image[inner] * 0.7 + np.array([128, 0, 0]) * 0.3
    np.testing.assert_allclose(drawn[inner], tinted, atol=0.51)

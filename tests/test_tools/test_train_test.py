"""End to end on real images: tools/train.py writes a checkpoint that
tools/test.py evaluates and that --resume continues from."""
import json
import math
import os
import shutil
import subprocess
import sys

import mmcv
import mmengine
import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT

CHILD_CONFIG = """
_base_ = '{base}'
model = dict(backbone=dict(init_cfg=None))
img_scale = (256, 256)
train_pipeline = _base_.train_pipeline
train_pipeline[3].scale = img_scale
test_pipeline = _base_.test_pipeline
test_pipeline[2].scale = img_scale
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(times=1, dataset=dict(
        ann_file='Splits/mini_trainval.txt', pipeline=train_pipeline))))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(ann_file='Splits/mini_test.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
"""


#: The keys docs/evaluation.md promises in metrics.json.
METRIC_KEYS = ('mAP07', 'recall07', 'mAP12', 'recall12', 'precision',
               'recall', 'F1', 'score_thr', 'best_F1', 'best_F1_thr', 'Pd',
               'Fa_per_image', 'Fa_per_mpixel', 'sky_IoU', 'others_IoU',
               'sky_mIoU', 'sky_pixel_acc')


def run_tool(*args):
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def trained(real_root, tmp_path_factory):
    """BAFE-Net-R18 trained one epoch (2 iterations) on 4 real images."""
    tmp = tmp_path_factory.mktemp('e2e')
    config = tmp / 'bafenet_r18_tiny.py'
    config.write_text(
        CHILD_CONFIG.format(base=REPO_ROOT /
                            'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'))
    work_dir = tmp / 'work'
    run_tool('tools/train.py', config, '--data-root', real_root,
             '--work-dir', work_dir)
    return config, work_dir


def test_train_writes_a_checkpoint(trained):
    config, work_dir = trained
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith(
        'epoch_1.pth')
    # torch >= 2.6 loads it with weights_only=True thanks to the allow-list.
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 2
    assert 'message_hub' in state and 'optimizer' in state


def test_test_tool_evaluates_the_checkpoint(trained, real_root, tmp_path):
    config, work_dir = trained
    out_dir = work_dir / 'test'
    output = run_tool('tools/test.py', config, work_dir / 'epoch_1.pth',
                      '--data-root', real_root, '--work-dir', out_dir,
                      '--show-dir', 'vis', '--out', out_dir / 'preds.pkl')
    report = json.loads((out_dir / 'metrics.json').read_text())
    assert report['split'].endswith('Splits/mini_test.txt')
    assert report['checkpoint'].endswith('epoch_1.pth')
    metrics = report['metrics']
    for key in METRIC_KEYS:
        assert key in output, key
        assert metrics[key] is None or math.isfinite(metrics[key]), key
    for key in ('mAP07', 'mAP12', 'F1', 'Pd', 'sky_mIoU', 'sky_pixel_acc'):
        assert 0.0 <= metrics[key] <= 1.0, key
    # The saved predictions keep boxes and sky labels (mmdet's and mmseg's
    # key, one tensor), not the float map, and eval_metric.py recomputes
    # exactly the same figures from them.
    saved = mmengine.load(out_dir / 'preds.pkl')
    assert len(saved) == 4 and 'gt_sem_seg' not in saved[0]
    sky = saved[0]['pred_sem_seg']
    assert set(sky) == {'sem_seg', 'data'} and sky['data'] is sky['sem_seg']
    offline = tmp_path / 'eval.json'
    run_tool('tools/analysis_tools/eval_metric.py', config,
             out_dir / 'preds.pkl', '--data-root', real_root, '--out',
             offline)
    offline = json.loads(offline.read_text())
    assert offline['metrics'] == report['metrics']
    assert offline['split'] == report['split']

    pictures = list(out_dir.glob('*/vis/*.png'))
    assert len(pictures) == 4
    for picture in pictures:
        # Ground truth on the left, predictions on the right.
        drawn = mmcv.imread(picture)
        height, width = mmcv.imread(real_root / 'PNGImages' /
                                    picture.name).shape[:2]
        assert drawn.shape == (height, 2 * width, 3)
        assert not np.array_equal(drawn[:, :width], drawn[:, width:])


def test_test_tool_tiles_frames_at_native_size(trained, real_root):
    config, work_dir = trained
    out_dir = work_dir / 'test_tiled'
    output = run_tool('tools/test.py', config, work_dir / 'epoch_1.pth',
                      '--data-root', real_root, '--work-dir', out_dir,
                      '--tile', '--tile-overlap', '48')
    report = json.loads((out_dir / 'metrics.json').read_text())
    # Tiles of the training input size (the tiny config's 256 x 256).
    assert report['tiling'] == dict(tile_size=[256, 256], overlap=48)
    for key in METRIC_KEYS:
        assert key in output, key
        value = report['metrics'][key]
        assert value is None or math.isfinite(value), key


def test_resume_continues_from_the_checkpoint(trained, real_root):
    config, work_dir = trained
    output = run_tool('tools/train.py', config, '--data-root', real_root,
                      '--work-dir', work_dir, '--resume',
                      '--cfg-options', 'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1, iter: 2' in output
    state = torch.load(work_dir / 'epoch_2.pth', map_location='cpu',
                       weights_only=True)
    assert state['meta']['epoch'] == 2 and state['meta']['iter'] == 4


def test_inference_api_on_files_arrays_and_lists(trained, real_root):
    from bafenet.apis import inference_detector, init_detector
    config, work_dir = trained
    model = init_detector(config, work_dir / 'epoch_1.pth')
    assert model.dataset_meta['classes'] == ('Target', )
    assert model.dataset_meta['seg_classes'] == ('others', 'sky')
    img_path = real_root / 'PNGImages' / (
        (real_root / 'Splits/mini_test.txt').read_text().split()[0] + '.png')
    result = inference_detector(model, img_path)
    image = mmcv.imread(img_path)
    height, width = image.shape[:2]
    sky_prob = result.pred_sem_seg.sky_prob
    assert sky_prob.shape == (1, height, width)
    assert sky_prob.dtype == torch.float32
    assert 0 <= sky_prob.min() and sky_prob.max() <= 1
    scores = result.pred_instances.scores
    assert result.pred_instances.bboxes.shape == (len(scores), 4)
    assert torch.all(scores[1:] <= scores[:-1])
    # An array (grayscale or BGR) gives the same prediction as the file.
    for array in (image, image[..., 0]):
        same = inference_detector(model, array)
        torch.testing.assert_close(same.pred_instances.scores, scores)
        torch.testing.assert_close(same.pred_sem_seg.sky_prob, sky_prob)
    results = inference_detector(model, [img_path, img_path])
    assert len(results) == 2 and results[1].img_path == str(img_path)
    torch.testing.assert_close(results[1].pred_instances.scores, scores)


def test_inference_api_refuses_a_malicious_checkpoint(trained, tmp_path):
    from bafenet.apis import init_detector
    config, work_dir = trained
    state = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    state['payload'] = Exploit(tmp_path / 'pwned')
    bad = tmp_path / 'bad.pth'
    torch.save(state, bad)
    with pytest.raises(Exception, match='Weights only load failed'):
        init_detector(config, bad)
    assert not (tmp_path / 'pwned').exists()


class Exploit:
    """Unpickling this would create a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}', ))


def test_image_demo_writes_pictures_and_json(trained, real_root, tmp_path):
    config, work_dir = trained
    images = tmp_path / 'images'
    images.mkdir()
    ids = (real_root / 'Splits/mini_test.txt').read_text().split()[:3]
    for img_id in ids:
        shutil.copy(real_root / 'PNGImages' / f'{img_id}.png', images)
    out_dir = tmp_path / 'out'
    output = run_tool('tools/demo/image_demo.py', images, config, '--weights',
                      work_dir / 'epoch_1.pth', '--out-dir', out_dir,
                      '--pred-score-thr', '0', '--batch-size', '2',
                      '--cfg-options', 'model.test_cfg.score_thr=0')
    assert '3 of 3 images done' in output
    for img_id in ids:
        picture = mmcv.imread(out_dir / 'vis' / f'{img_id}.png')
        original = mmcv.imread(images / f'{img_id}.png')
        assert picture.shape == original.shape
        # The sky overlay and the boxes change the picture.
        assert np.abs(picture.astype(int) - original).mean() > 0.5
        record = json.loads((out_dir / 'preds' / f'{img_id}.json').read_text())
        sky = mmcv.imread(record['sky_map_path'], flag='unchanged')
        assert sky.shape == original.shape[:2]
        assert record['sky_fraction'] == pytest.approx((sky == 255).mean())
        # Every detection is kept: up to the model's max_per_img.
        assert 0 < len(record['scores']) <= 100
        for x1, y1, x2, y2 in record['bboxes']:
            assert x1 <= x2 and y1 <= y2


def test_image_demo_reports_unreadable_inputs_and_goes_on(
        trained, real_root, tmp_path):
    config, work_dir = trained
    images = tmp_path / 'images'
    images.mkdir()
    good = (real_root / 'Splits/mini_test.txt').read_text().split()[:2]
    for img_id in good:
        shutil.copy(real_root / 'PNGImages' / f'{img_id}.png', images)
    (images / 'broken.png').write_bytes(b'not a png')
    missing = tmp_path / 'missing.png'
    out_dir = tmp_path / 'out'
    proc = subprocess.run([
        sys.executable, 'tools/demo/image_demo.py', images, missing, config,
        '--weights', work_dir / 'epoch_1.pth', '--out-dir', out_dir,
        '--batch-size', '3'
    ], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '2 of 4 images done' in proc.stdout
    assert '2 input(s) failed' in proc.stderr
    assert f'{images / "broken.png"}: ' in proc.stderr
    assert f'{missing}: ' in proc.stderr
    for img_id in good:
        assert (out_dir / 'vis' / f'{img_id}.png').is_file()
        assert (out_dir / 'preds' / f'{img_id}.json').is_file()
    assert not (out_dir / 'vis' / 'broken.png').exists()


def test_auto_scale_lr_follows_the_batch_size(trained, real_root, tmp_path):
    """One process with batch 1: lr x (1 x 1) / base_batch_size 2. (Two
    processes with batch 2 double it: tests/test_tools/test_distributed.py.)
    """
    config, _ = trained
    work_dir = tmp_path / 'batch1'
    output = run_tool('tools/train.py', config, '--data-root', real_root,
                      '--work-dir', work_dir, '--auto-scale-lr',
                      '--cfg-options', 'train_dataloader.batch_size=1')
    assert 'Scaling the original LR by 0.5' in output
    first = json.loads(
        next(work_dir.glob('*/vis_data/scalars.json')).read_text()
        .splitlines()[0])
    # lr 1.0 x 0.5, times the ConstantLR warm-up factor 1/3.
    assert first['lr'] == pytest.approx(0.5 / 3)

"""ONNX export and the ONNX Runtime runner against PyTorch, on real
``test_v2`` images, for FCOS, FCOS-Seg and BAFE-Net (tiny R18 models with
random weights), at two input sizes from one dynamic graph."""
import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from bafenet.apis import SkyDetInferencer, init_detector
from bafenet.registry import DATASETS
from tests.conftest import REPO_ROOT

pytest.importorskip(
    'onnxruntime',
    reason='onnxruntime is not installed (pip install "bafenet[deploy]")')
pytest.importorskip(
    'onnx', reason='onnx is not installed (pip install "bafenet[deploy]")')

from bafenet.deployment import ONNXRuntimeDetector, export_onnx  # noqa: E402

CONFIGS = {
    'FCOS': 'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
    'FCOS-Seg': 'configs/fcos_seg/fcos-seg_r18_fpn_20e_densesirst.py',
    'BAFE-Net': 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py',
}
#: R18 with a 32-channel neck and head of one conv per tower.
TINY_CONFIG = """
_base_ = '{base}'
model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1))
"""
#: Resize scales (W, H) of the test pipeline: the second is padded to
#: 320x224, so the sky map is cropped before it is resized back.
SCALES = [(320, 256), (288, 200)]
NUM_IMAGES = 2


def spread_outputs(model: nn.Module, data: dict) -> None:
    """Re-draw the last layers of a random head so that its class and
    centerness scores spread over (0, 1), its boxes have sizes and its sky
    map, centred on ``data``, has both classes: thresholds, top-k and NMS
    all select, and ties between scores are far apart compared to float
    rounding."""
    head = model.bbox_head
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for conv in [head.conv_cls, head.conv_centerness] + (
                [head.conv_seg] if hasattr(head, 'conv_seg') else []):
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=generator) * 0.5)
            conv.bias.zero_()
        head.conv_reg.bias.fill_(1.)
        if hasattr(head, 'conv_seg'):
            inputs = model.data_preprocessor(data)['inputs']
            sky_logit = model._forward(inputs)[3][head.sky_level]
            head.conv_seg.bias.fill_(-float(sky_logit.median()))


@pytest.fixture(scope='module', params=list(CONFIGS))
def exported(request, real_root, tmp_path_factory):
    """(name, config file, PyTorch model, checkpoint, ONNX file) of one tiny
    detector; BAFE-Net goes through tools/deployment/pytorch2onnx.py."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    config = tmp / 'tiny.py'
    config.write_text(TINY_CONFIG.format(base=REPO_ROOT / CONFIGS[name]))
    torch.manual_seed(0)
    model = init_detector(config)
    spread_outputs(model, real_batch(real_root, SCALES[0]))
    checkpoint = tmp / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    onnx_file = str(tmp / 'model.onnx')
    if name == 'BAFE-Net':
        output = run_tool('tools/deployment/pytorch2onnx.py', config,
                          checkpoint, '--out', onnx_file, '--shape', 256, 320)
        assert 'check on ' in output and ', 0 missing' in output
    else:
        export_onnx(model, onnx_file, input_shape=(256, 320))
    return name, config, model, checkpoint, onnx_file


def run_tool(*args) -> str:
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    return output


def real_batch(real_root, scale):
    """The first test_v2 images through the test pipeline at ``scale``."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=scale, keep_ratio=False),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor'))
    ]
    dataset = DATASETS.build(
        dict(
            type='DenseSIRSTDataset',
            data_root=str(real_root),
            ann_file='Splits/test_v2.txt',
            indices=NUM_IMAGES,
            test_mode=True,
            pipeline=pipeline))
    return pseudo_collate([dataset[i] for i in range(NUM_IMAGES)])


def box_iou(a, b):
    """(N, 4), (M, 4) -> (N, M) IoU."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=-1)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=-1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


@pytest.mark.parametrize('scale', SCALES, ids=['320x256', '288x200'])
def test_onnxruntime_matches_pytorch(exported, real_root, scale):
    name, _, model, _, onnx_file = exported
    data = real_batch(real_root, scale)
    with torch.no_grad():
        expected = model.test_step(copy.deepcopy(data))
    results = ONNXRuntimeDetector(onnx_file).test_step(copy.deepcopy(data))

    score_thr = model.test_cfg.score_thr
    for ref, out in zip(expected, results):
        ref_inst, out_inst = ref.pred_instances, out.pred_instances
        # not vacuous: boxes above the threshold, and NMS kept a selection
        assert len(ref_inst) > 10 and ref_inst.scores.min() > score_thr
        assert len(out_inst) == len(ref_inst)
        assert out_inst.bboxes.dtype == torch.float32
        iou = box_iou(ref_inst.bboxes.numpy(), out_inst.bboxes.numpy())
        close = np.abs(ref_inst.scores.numpy()[:, None] -
                       out_inst.scores.numpy()[None]) <= 1e-4
        same_label = (ref_inst.labels.numpy()[:, None] ==
                      out_inst.labels.numpy()[None])
        match = (iou > 0.99) & close & same_label
        assert match.any(1).all() and match.any(0).all(), name
        assert out.batch_input_shape == ref.batch_input_shape
        if name == 'FCOS':
            assert 'pred_sem_seg' not in out
            continue
        ref_sky, out_sky = ref.pred_sem_seg, out.pred_sem_seg
        assert out_sky.sem_seg.shape == (1, *ref.ori_shape)
        assert out_sky.sem_seg.dtype == torch.uint8
        sky_fraction = ref_sky.sem_seg.float().mean()
        assert 0.05 < sky_fraction < 0.95  # both classes present
        agreement = (out_sky.sem_seg == ref_sky.sem_seg).float().mean()
        assert agreement > 0.999, (name, float(agreement))
        torch.testing.assert_close(
            out_sky.sky_prob, ref_sky.sky_prob, atol=1e-4, rtol=0)


def assert_same_detections(ref, out, name):
    """Both sets hold the same boxes: every box of each has one in the
    other with IoU > 0.99, a score within 1e-4 and the same label."""
    assert len(out['scores']) == len(ref['scores']), name
    iou = box_iou(np.asarray(ref['bboxes']), np.asarray(out['bboxes']))
    close = np.abs(np.asarray(ref['scores'])[:, None] -
                   np.asarray(out['scores'])[None]) <= 1e-4
    same_label = (np.asarray(ref['labels'])[:, None] ==
                  np.asarray(out['labels'])[None])
    match = (iou > 0.99) & close & same_label
    assert match.any(1).all() and match.any(0).all(), name


def test_inferencer_onnxruntime_backend(exported, real_root, tmp_path):
    name, config, _, checkpoint, onnx_file = exported
    cfg = Config.fromfile(config)
    cfg.test_dataloader.dataset.data_root = str(real_root)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = SCALES[0]
    # the file says 100: the runner takes the config's post-process settings
    cfg.model.test_cfg.max_per_img = 20
    images = [
        str(real_root / 'PNGImages' / f'{stem}.png')
        for stem in ('Misc_199', 'Misc_13')
    ]
    expected = SkyDetInferencer(
        cfg, str(checkpoint), show_progress=False)(images, batch_size=2)
    inferencer = SkyDetInferencer(
        cfg, onnx_file, backend='onnxruntime', show_progress=False)
    out = inferencer(images, batch_size=2)
    for ref, pred in zip(expected['predictions'], out['predictions']):
        assert len(ref['scores']) == 20
        assert_same_detections(ref, pred, name)
        if name == 'FCOS':
            assert 'sky_map' not in pred
            continue
        assert pred['sky_map'].shape == ref['sky_map'].shape
        assert (pred['sky_map'] == ref['sky_map']).mean() > 0.999
        assert 0.05 < ref['sky_fraction'] < 0.95

    if name == 'BAFE-Net':  # the demo, and a config of another model
        run_tool('tools/demo/image_demo.py', images[0], config, '--weights',
                 onnx_file, '--backend', 'onnxruntime', '--out-dir', tmp_path,
                 '--cfg-options',
                 f'test_dataloader.dataset.data_root={real_root}')
        record = json.loads(
            (tmp_path / 'preds' / 'Misc_199.json').read_text())
        assert len(record['scores']) > 10 and 0 < record['sky_fraction'] < 1
        other = tmp_path / 'fcos_seg.py'
        other.write_text(
            TINY_CONFIG.format(base=REPO_ROOT / CONFIGS['FCOS-Seg']))
        with pytest.raises(ValueError, match='head: BAFEHead in the graph'):
            SkyDetInferencer(str(other), onnx_file, backend='onnxruntime')


def test_model_without_metadata_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node('Identity', ['inputs'], ['out'])], 'bare',
        [helper.make_tensor_value_info('inputs', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('out', TensorProto.FLOAT, [1])])
    bare = str(tmp_path / 'bare.onnx')
    onnx.save(
        helper.make_model(
            graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8),
        bare)
    with pytest.raises(ValueError, match=f'{bare}: no .bafenet. metadata'):
        ONNXRuntimeDetector(bare)


def test_benchmark_mode(real_root, tmp_path):
    out = tmp_path / 'onnx.json'
    text = run_tool(
        'tools/analysis_tools/benchmark.py', 'onnx', '--data-root',
        real_root, '--shape', 64, 64, '--repeat', 1, '--json', out,
        '--cfg-options', 'model.neck.out_channels=32',
        'model.bbox_head.in_channels=32', 'model.bbox_head.feat_channels=32',
        'model.bbox_head.stacked_convs=1')
    figures = json.loads(out.read_text())
    assert set(figures['seconds']) == set(figures['speedup'])
    assert len(figures['seconds']) == 6
    assert 'ONNX Runtime (all, 1 threads)' in text

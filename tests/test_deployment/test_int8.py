"""Static int8 quantisation of an exported detector (QDQ, calibrated on
real frames), through tools/deployment/pytorch2onnx.py --int8, and the
exported models evaluated by tools/test.py --backend onnxruntime."""
import json

import numpy as np
import pytest

onnx = pytest.importorskip(
    'onnx', reason='onnx is not installed (pip install "bafenet[deploy]")')
pytest.importorskip(
    'onnxruntime',
    reason='onnxruntime is not installed (pip install "bafenet[deploy]")')

from bafenet.deployment import ONNXRuntimeDetector  # noqa: E402
from bafenet.deployment.onnx_export import (METADATA_KEY,  # noqa: E402
                                            read_metadata)
from bafenet.deployment.quantization import (  # noqa: E402
    depthwise_convolutions, end_convolutions)
from tests.test_deployment.test_onnx_parity import (  # noqa: E402
    real_batch, run_tool)


@pytest.fixture(scope='module')
def exported_int8(demo_model, real_root, tmp_path_factory):
    config, checkpoint = demo_model
    tmp = tmp_path_factory.mktemp('int8')
    out = run_tool('tools/deployment/pytorch2onnx.py', config, checkpoint,
                   '--out', tmp / 'model.onnx', '--data-root', real_root,
                   '--shape', 256, 320, '--int8', '--calib-images', 3)
    return tmp / 'model.onnx', tmp / 'model_int8.onnx', out


def test_int8_model(exported_int8, real_root):
    fp32_file, int8_file, out = exported_int8
    assert f'{int8_file}: int8 (QDQ), calibrated on 3 frames of ' \
        'train_v2' in out
    assert 'int8 against PyTorch on' in out
    fp32, int8 = onnx.load(fp32_file), onnx.load(int8_file)
    ops = [n.op_type for n in int8.graph.node]
    # every convolution but the first, the depthwise and the output ones
    # reads int8 weights through a DequantizeLinear
    producer = {o: n for n in int8.graph.node for o in n.output}
    first, last = end_convolutions(int8)
    depthwise = depthwise_convolutions(int8)
    convs = [n for n in int8.graph.node if n.op_type == 'Conv']
    quantised = {
        n.name for n in convs
        if n.input[1] in producer
        and producer[n.input[1]].op_type == 'DequantizeLinear'
    }
    kept = set(first + depthwise + last)
    assert len(first) == 1 and len(last) >= 3 and len(depthwise) >= 8
    assert quantised == {n.name for n in convs} - kept
    assert ops.count('QuantizeLinear') > 20
    # the metadata is the float model's, plus what was quantised
    props = {p.key: p.value for p in int8.metadata_props}
    metadata = read_metadata(props, str(int8_file))
    fp32_metadata = json.loads(
        {p.key: p.value for p in fp32.metadata_props}[METADATA_KEY])
    assert {k: v for k, v in metadata.items() if k != 'int8'} == \
        fp32_metadata
    assert metadata['int8']['calibration'] == dict(
        split='train_v2', num_images=3)
    assert sorted(metadata['int8']['fp32_nodes']) == sorted(kept)

    # int8 raw outputs follow the float ones on a real frame
    data = real_batch(real_root, (320, 256))
    runner32, runner8 = (ONNXRuntimeDetector(str(f))
                         for f in (fp32_file, int8_file))
    batch = runner32.preprocess([np.asarray(data['inputs'][0])])
    out32, out8 = runner32.forward(batch), runner8.forward(batch)
    for name in ('cls_score_0', 'bbox_pred_1', 'sky_logit'):
        corr = np.corrcoef(out32[name].ravel(), out8[name].ravel())[0, 1]
        assert corr > 0.9, (name, corr)
        assert not np.array_equal(out32[name], out8[name])


def test_tools_test_onnxruntime_backend(demo_model, exported_int8,
                                        real_root, tmp_path):
    """tools/test.py on two test frames: the float32 graph gives PyTorch's
    figures, the int8 one runs through the same path."""
    config, checkpoint = demo_model
    fp32_file, int8_file, _ = exported_int8

    def figures(weights, *backend):
        work_dir = tmp_path / weights.stem
        run_tool('tools/test.py', config, weights, '--data-root', real_root,
                 '--work-dir', work_dir, *backend, '--cfg-options',
                 'test_dataloader.dataset.indices=2')
        return json.loads((work_dir / 'metrics.json').read_text())['metrics']

    pytorch = figures(checkpoint)
    fp32 = figures(fp32_file, '--backend', 'onnxruntime')
    int8 = figures(int8_file, '--backend', 'onnxruntime')
    for key in ('mAP07', 'F1', 'sky_IoU'):
        assert fp32[key] == pytest.approx(pytorch[key], abs=1e-4), key
    assert set(int8) == set(pytorch)
    assert 0 < int8['sky_IoU'] <= 1


def test_realtime_benchmark(demo_model, real_root, tmp_path):
    config, checkpoint = demo_model
    split = tmp_path / 'split.txt'
    # two 640x512 frames and one of another size
    split.write_text('S20210713_S3_3\nS20210527_S7_3\nMisc_199\n')
    out = tmp_path / 'realtime.json'
    text = run_tool(
        'tools/analysis_tools/benchmark.py', 'realtime', '--config', config,
        '--checkpoint', checkpoint, '--data-root', real_root, '--test-split',
        split, '--sizes', '640x512', '--frames', 2, '--repeat', 1,
        '--threads', 1, '--calib-images', 2, '--map', '--profile', '--json',
        out)
    figures = json.loads(out.read_text())
    rows = figures['latency']['640x512']
    assert set(rows) == {
        'PyTorch, 1 thr', 'PyTorch channels-last, 1 thr', 'ORT fp32, 1 thr',
        'ORT int8, 1 thr', 'ORT int8 boxes only, 1 thr'
    }
    for row in rows.values():
        assert row['runs'] == 2 and row['p90_ms'] >= row['median_ms'] > 0
    assert rows['PyTorch, 1 thr']['x_pytorch'] == 1
    assert len(figures['frames']['640x512']) == 2
    profile = figures['profile']['int8']
    assert 'Conv' in ' '.join(profile['by_op_ms'])
    assert sum(profile['by_op_ms'].values()) == pytest.approx(
        profile['total_ms'])
    accuracy = figures['accuracy']
    assert set(accuracy) == {'PyTorch', 'ORT fp32', 'ORT int8'}
    assert accuracy['ORT fp32']['mAP07'] == pytest.approx(
        accuracy['PyTorch']['mAP07'], abs=1e-4)
    assert 'accuracy on all 3 frames of' in text
    assert set(figures['int8_stages_ms']['640x512']) == {
        'preprocess', 'graph', 'decode_nms', 'sky_map'}


def test_inferencer_runs_int8(demo_model, exported_int8, real_root):
    """The int8 model through the demo's path (SkyDetInferencer with
    backend='onnxruntime'): boxes and a sky map, close to the float
    model's."""
    from bafenet.apis import SkyDetInferencer
    config, _ = demo_model
    fp32_file, int8_file, _ = exported_int8
    image = str(real_root / 'PNGImages' / 'Misc_199.png')
    fp32, int8 = (SkyDetInferencer(
        str(config), str(f), backend='onnxruntime',
        show_progress=False)(image)['predictions'][0]
                  for f in (fp32_file, int8_file))
    assert len(int8['scores']) == len(fp32['scores']) > 10
    assert int8['sky_map'].shape == fp32['sky_map'].shape
    assert (int8['sky_map'] == fp32['sky_map']).mean() > 0.9

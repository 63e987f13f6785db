"""The analysis tools run on tiny real settings and print what they promise
(figures are checked for form, never for speed)."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from bafenet.registry import MODELS
from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test import run_tool

BAFENET = 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'


def test_get_flops(tmp_path):
    output = run_tool('tools/analysis_tools/get_flops.py', BAFENET,
                      '--shape', 64, 64)
    assert 'FLOPs:' in output and 'Params: 21.712 M' in output
    assert 'head.exchange' in output


def test_benchmark_modes(real_root, tmp_path):
    common = ('--data-root', real_root, '--split', 'Splits/mini_test.txt',
              '--num-samples', 2, '--repeat', 1)
    for mode in ('pipeline', 'bagcp'):
        out = tmp_path / f'{mode}.json'
        run_tool('tools/analysis_tools/benchmark.py', mode, *common,
                 '--json', out)
        figures = json.loads(out.read_text())
        assert figures['mode'] == mode
    assert figures['speedup'] > 0
    out = tmp_path / 'exchange.json'
    text = run_tool('tools/analysis_tools/benchmark.py', 'exchange',
                    '--shape', 64, 64, '--repeat', 1, '--json', out)
    assert 'exchange / no exchange' in text
    assert json.loads(out.read_text())['ratio'] > 0


def test_benchmark_model_and_profile(real_root, tmp_path):
    tiny = ('--data-root', real_root, '--split', 'Splits/mini_test.txt',
            '--num-images', 2, '--shape', 64, 64, '--repeat', 1,
            '--batch-sizes', 1)
    out = tmp_path / 'model.json'
    text = run_tool('tools/analysis_tools/benchmark.py', 'model', *tiny,
                    '--backbones', 'r18', '--models', 'BAFE-Net',
                    'BAFE-Net-fullcov', '--json', out)
    figures = json.loads(out.read_text())
    assert set(figures) >= {
        'FCOS-R18 b1', 'BAFE-Net-R18 b1', 'BAFE-Net-fullcov-R18 b1'
    }
    assert figures['FCOS-R18 b1']['infer_ratio'] == 1
    for row in (figures['FCOS-R18 b1'], figures['BAFE-Net-R18 b1']):
        assert row['infer_img_per_s']['median'] > 0
        assert row['train_s']['min'] <= row['train_s']['median'] <= \
            row['train_s']['max']
        assert row['train_peak_mib'] >= 0
    assert 'BAFE-Net-R18 b1' in text and 'x FCOS' in text

    out = tmp_path / 'profile.json'
    text = run_tool('tools/analysis_tools/benchmark.py', 'profile', *tiny,
                    '--json', out)
    figures = json.loads(out.read_text())
    parts = figures['inference_ms']
    assert {'backbone', 'neck', 'bbox_head.seg_convs', 'bbox_head.lsk',
            'bbox_head.exchange'} <= set(parts)
    assert sum(parts.values()) == pytest.approx(
        figures['inference_total_ms'])
    assert 'synchronise a GPU' in text


def test_benchmark_channels_last(real_root, tmp_path):
    out = tmp_path / 'channels_last.json'
    text = run_tool('tools/analysis_tools/benchmark.py', 'channels-last',
                    '--config',
                    'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py',
                    '--data-root', real_root, '--split',
                    'Splits/mini_test.txt', '--num-images', 2, '--shape', 64,
                    64, '--batch-size', 2, '--repeat', 1, '--json', out)
    figures = json.loads(out.read_text())
    for name in ('contiguous', 'channels_last'):
        row = figures[name]
        assert 0 < row['train_s']['median'] and 0 < row['infer_s']['median']
    assert figures['train_speedup'] == pytest.approx(
        figures['contiguous']['train_s']['median'] /
        figures['channels_last']['train_s']['median'])
    assert 'channels-last speed-up: training step' in text


def test_benchmark_eval_and_end2end(real_root, tmp_path):
    common = ('--data-root', real_root, '--test-split',
              'Splits/mini_test.txt', '--repeat', 1)
    out = tmp_path / 'eval.json'
    run_tool('tools/analysis_tools/benchmark.py', 'eval', *common, '--json',
             out)
    figures = json.loads(out.read_text())
    assert figures['num_images'] == 4
    assert figures['num_predictions'] == 400
    assert figures['total_s']['median'] == pytest.approx(
        figures['process_s']['median'] + figures['compute_s']['median'],
        rel=0.5)
    out = tmp_path / 'end2end.json'
    text = run_tool('tools/analysis_tools/benchmark.py', 'end2end', *common,
                    '--num-images', 2, '--cfg-options',
                    'test_dataloader.num_workers=0',
                    'test_dataloader.persistent_workers=False', '--json', out)
    figures = json.loads(out.read_text())
    assert figures['num_images'] == 2 and figures['wall_s']['median'] > 0
    assert 'images/s' in text


def test_browse_dataset_draws_pasted_targets(real_root, tmp_path):
    text = run_tool(
        'tools/analysis_tools/browse_dataset.py', BAFENET, '--output-dir',
        tmp_path, '--data-root', real_root, '--num', 2, '--cfg-options',
        'train_dataloader.dataset.dataset.dataset.ann_file='
        'Splits/mini_test.txt')
    pictures = sorted(tmp_path.glob('*.png'))
    assert len(pictures) == 2
    for picture in pictures:
        with Image.open(picture) as img:
            assert img.size == (512, 512)
    assert 'pasted' in text


def test_dataset_stats(real_root):
    text = run_tool('tools/analysis_tools/dataset_stats.py', real_root,
                    '--split', 'mini_test')
    assert '| mini_test | 4 |' in text


def test_benchmark_onnx_refuses_a_checkpoint_of_another_model(
        real_root, tmp_path):
    """onnx mode loads its checkpoint as tools/test.py does: an FCOS
    checkpoint does not cover BAFE-Net (its sky branch would stay random)."""
    cfg = Config.fromfile(REPO_ROOT /
                          'configs/fcos/fcos_r18_fpn_20e_densesirst.py')
    cfg.model.backbone.init_cfg = None
    path = tmp_path / 'fcos.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), path)
    proc = subprocess.run([
        sys.executable, 'tools/analysis_tools/benchmark.py', 'onnx',
        '--config', BAFENET, '--checkpoint', path, '--data-root', real_root,
        '--split', 'Splits/mini_test.txt', '--num-images', '1', '--shape',
        '64', '64', '--repeat', '1'
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f'CheckpointError: {path} does not cover the model:' in output, \
        output[-3000:]
    assert 'bbox_head.seg_convs.0.conv.weight' in output
    assert '--allow-partial-checkpoint' in output

"""Benchmarks that print figures (median of several runs after a warm-up,
with min and max), optionally as JSON.

Modes:

- ``model``: inference images/s and training seconds/iteration (forward,
  backward, optimizer step) of FCOS, FCOS-Seg and BAFE-Net with ResNet-18
  and ResNet-50 at 512x512, batch 1 and 2, with the peak memory of each, and
  each as a ratio to FCOS of the same backbone. The runs of the models are
  interleaved, so the ratios come from the same moments of a noisy machine.
- ``profile``: where a detector's inference time goes, per module, and
  which operations of one training step would synchronise a GPU with the
  host (``aten::item``, ``aten::_local_scalar_dense``, ``aten::nonzero``
  ...), counted with ``torch.profiler`` and attributed to their Python
  function.
- ``eval``: seconds to compute every figure of ``DenseSIRSTMetric`` over the
  ``test_v2`` images, from generated predictions (saved ones are evaluated
  by ``eval_metric.py``).
- ``end2end``: seconds of ``tools/test.py`` over ``test_v2``.
- ``pipeline``: training samples per second of the full DenseSIRST pipeline
  on one core (one worker), with the config's copy-paste stage and without
  any, and the share of a sample's time that copy-paste costs.
- ``bagcp``: the BAGCopyPaste transform alone against a straightforward
  per-pixel Python implementation of the same algorithm, on the same real
  samples.
- ``exchange``: the head's forward (inference, no gradient) with the
  config's cross-task exchange and with its ``ratio=0``, on FPN
  features of a 512x512 batch; the runs of both heads are interleaved.
- ``onnx``: PyTorch CPU against ONNX Runtime CPU (several graph
  optimisation levels and thread counts) inference of the config's detector
  (default BAFE-Net-R18) on one real image at ``--shape``, batch 1, runs
  interleaved; needs onnx and onnxruntime.
- ``channels-last``: a training step and an inference of the config's
  detector with contiguous and with channels-last weights
  (``ChannelsLastHook``), same batch and initial weights, interleaved.
- ``realtime``: a trained detector (``--checkpoint``) on whole frames of
  ``--test-split`` at each of ``--sizes``, batch 1: frames per second and
  latency (median, p90) of PyTorch (contiguous, channels-last), ONNX
  Runtime float32 (all graph optimisations) and int8 (static QDQ,
  calibrated on ``--calib-images`` frames of ``--calib-split``), at each of
  ``--threads``, interleaved; the int8 runner's time per stage; with
  ``--profile`` ONNX Runtime's per-node profile, with ``--map`` the models'
  mAP07 on the whole split (``benchmarks/realtime.py``).

    python tools/analysis_tools/benchmark.py pipeline --data-root DIR
    python tools/analysis_tools/benchmark.py bagcp --data-root DIR
    python tools/analysis_tools/benchmark.py exchange
    python tools/analysis_tools/benchmark.py model --data-root DIR
    python tools/analysis_tools/benchmark.py profile --data-root DIR
    python tools/analysis_tools/benchmark.py eval --data-root DIR
    python tools/analysis_tools/benchmark.py end2end --data-root DIR
    python tools/analysis_tools/benchmark.py onnx --data-root DIR --repeat 20
    python tools/analysis_tools/benchmark.py channels-last --data-root DIR
    python tools/analysis_tools/benchmark.py realtime --data-root DIR \
        --config CONFIG --checkpoint CKPT --frames 8 --repeat 3 [--map]

Peak memory is the tensor memory a run adds at its peak: the CUDA
allocator's peak on a GPU, the running sum of the allocations
``torch.profiler`` records on a CPU. The modes live in
:mod:`bafenet.benchmarks`, one module per kind of work. Whether the recall
ceiling of the assignment moves is a training experiment, not a benchmark:
``recall_ceiling.py``.
"""
import argparse
import inspect
import json

import cv2
import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger

from bafenet.benchmarks import (bench_bagcp, bench_channels_last,
                                bench_end2end, bench_eval, bench_exchange,
                                bench_model, bench_onnx, bench_pipeline,
                                bench_profile, bench_realtime)
from bafenet.benchmarks.common import (DEFAULT_CONFIG, FULLCOV_NAMES,
                                       MODEL_CONFIGS, MODEL_NAMES)
from bafenet.benchmarks.realtime import VARIANTS as REALTIME_VARIANTS
from bafenet.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'mode',
        choices=[
            'model', 'profile', 'pipeline', 'eval', 'end2end', 'bagcp',
            'exchange', 'onnx', 'channels-last', 'realtime'
        ])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument(
        '--data-root', default='data/SIRSTdevkit', help='SIRSTdevkit folder')
    parser.add_argument('--split', default='Splits/train_v2.txt')
    parser.add_argument(
        '--num-samples', type=int, default=64, help='samples per run')
    parser.add_argument('--repeat', type=int, default=3, help='timed runs')
    parser.add_argument(
        '--batch-size', type=int, default=2,
        help='exchange and channels-last mode batch')
    parser.add_argument(
        '--batch-sizes', type=int, nargs='+', default=[1, 2],
        help='model mode batches')
    parser.add_argument(
        '--backbones', nargs='+', choices=sorted(MODEL_CONFIGS),
        default=sorted(MODEL_CONFIGS), help='model mode backbones')
    parser.add_argument(
        '--models', nargs='+', choices=MODEL_NAMES + FULLCOV_NAMES,
        default=MODEL_NAMES,
        help='model mode detectors (FCOS is always measured; the fullcov '
        'ones with ResNet-18 only)')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[512, 512],
        help='model, exchange, onnx and channels-last mode input H W')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu',
        help='model mode device')
    parser.add_argument(
        '--test-split', default='Splits/test_v2.txt',
        help='eval and end2end mode split')
    parser.add_argument(
        '--num-images', type=int,
        help='eval and end2end mode: the first N images of the split')
    parser.add_argument(
        '--checkpoint',
        help='end2end and onnx mode checkpoint (default: the initial '
        'weights)')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='onnx mode: load a checkpoint that does not cover the model '
        '(the weights that fit, with a warning); by default it is refused')
    add_realtime_arguments(parser)
    parser.add_argument('--json', help='also write the figures to this file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def add_realtime_arguments(parser) -> None:
    group = parser.add_argument_group('realtime mode')
    group.add_argument(
        '--sizes', nargs='+', default=['640x512', '1280x1024'],
        help='frame sizes WIDTHxHEIGHT; the frames of each are the first '
        '--frames frames of --test-split of that original size')
    group.add_argument(
        '--frames', type=int, default=8, help='frames per size')
    group.add_argument(
        '--threads', type=int, nargs='+', default=[1, 2],
        help='thread counts of every variant')
    group.add_argument(
        '--variants', nargs='+', choices=REALTIME_VARIANTS,
        default=list(REALTIME_VARIANTS), help='the models timed')
    group.add_argument(
        '--map', action='store_true', dest='with_map',
        help='also mAP07 of PyTorch, ORT fp32 and ORT int8 on every frame '
        'of --test-split (slow)')
    group.add_argument(
        '--profile', action='store_true',
        help="ONNX Runtime's per-node profile at the first size")
    group.add_argument(
        '--onnx', help='the float32 .onnx of --checkpoint (default: export)')
    group.add_argument(
        '--onnx-int8',
        help='its int8 .onnx (default: quantise the float32 one)')
    group.add_argument(
        '--calib-split', default='train_v2',
        help='split whose frames calibrate int8')
    group.add_argument(
        '--calib-images', type=int, default=32,
        help='frames that calibrate int8')
    group.add_argument(
        '--ort-spinning', action='store_true',
        help="let ONNX Runtime's idle threads spin (its default; off here, "
        'as spinning threads of one variant slow the next)')


def main():
    args = parse_args()
    register_all_modules()
    # Building models and optimizers logs every parameter; keep errors only.
    MMLogger.get_instance('benchmark', log_level='ERROR')
    if args.mode in ('pipeline', 'bagcp'):  # data work is per worker
        torch.set_num_threads(1)
        cv2.setNumThreads(1)
    mode = dict(
        model=bench_model,
        profile=bench_profile,
        pipeline=bench_pipeline,
        eval=bench_eval,
        end2end=bench_end2end,
        bagcp=bench_bagcp,
        exchange=bench_exchange,
        onnx=bench_onnx,
        realtime=bench_realtime,
        **{'channels-last': bench_channels_last})[args.mode]
    figures = mode(**{
        name: getattr(args, name)
        for name in inspect.signature(mode).parameters
    })
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(mode=args.mode, config=args.config, **figures), f,
                      indent=2)


if __name__ == '__main__':
    main()

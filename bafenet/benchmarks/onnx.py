"""``onnx`` mode: PyTorch CPU against ONNX Runtime CPU inference of the same
detector on the same real image, runs interleaved."""
import copy
import os
import os.path as osp
import tempfile
import time

import torch
from mmengine.dataset import pseudo_collate

from bafenet.deployment import ONNXRuntimeDetector, export_onnx
from bafenet.utils import load_model_checkpoint
from .common import build_for_benchmark, sample_dataset, summary

#: ONNX Runtime sessions compared: (graph optimisation level, threads);
#: None threads: ONNX Runtime's default (one per core). PyTorch runs with its
#: default threads and with one.
ORT_SETTINGS = [('all', None), ('all', 1), ('extended', None),
                ('basic', None)]


def bench_onnx(args) -> dict:
    height, width = args.shape
    model, _ = build_for_benchmark(args.config, 'cpu', args.cfg_options)
    if args.checkpoint:
        load_model_checkpoint(
            model,
            args.checkpoint,
            allow_partial=args.allow_partial_checkpoint)
    model.eval()
    batch = pseudo_collate([sample_dataset(args, args.split,
                                           (width, height))[0]])
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = osp.join(tmp, 'model.onnx')
        start = time.perf_counter()
        export_onnx(model, onnx_file, input_shape=(height, width))
        export_s = time.perf_counter() - start
        runners = {
            f'ONNX Runtime ({level}, '
            f'{threads or "default"} threads)': ONNXRuntimeDetector(
                onnx_file, num_threads=threads, optimization_level=level)
            for level, threads in ORT_SETTINGS
        }

    def pytorch(threads, data=copy.deepcopy(batch)):
        default = torch.get_num_threads()
        torch.set_num_threads(threads)
        with torch.no_grad():
            model.test_step(data)
        torch.set_num_threads(default)

    threads = torch.get_num_threads()
    steps = {
        f'PyTorch ({n} threads)': (lambda n=n: pytorch(n))
        for n in sorted({threads, 1}, reverse=True)
    }
    steps.update({
        name: (lambda runner=runner, data=copy.deepcopy(batch): runner.
               test_step(data))
        for name, runner in runners.items()
    })
    load_before = os.getloadavg()
    seconds = {name: [] for name in steps}
    for step in steps.values():  # warm-up
        step()
    for _ in range(args.repeat):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            seconds[name].append(time.perf_counter() - start)
    load_after = os.getloadavg()

    times = {name: summary(runs) for name, runs in seconds.items()}
    reference = next(iter(times))
    figures = dict(
        export_s=export_s,
        load_1min=[load_before[0], load_after[0]],
        seconds=times,
        speedup={
            name: times[reference]['median'] / t['median']
            for name, t in times.items()
        })
    print(f'{args.config}: test_step (pre-processing, forward, NMS, sky '
          f'map) of one {height}x{width} image, batch 1, {args.repeat} runs '
          f'after a warm-up, runs interleaved; the ONNX export took '
          f'{export_s:.1f} s')
    print(f'{"backend":<44}{"s":>8}{"min":>8}{"max":>8}{"x PyTorch":>11}')
    for name, t in times.items():
        print(f'{name:<44}{t["median"]:>8.3f}{t["min"]:>8.3f}'
              f'{t["max"]:>8.3f}{figures["speedup"][name]:>11.2f}')
    print(f'1-minute load average before/after: {load_before[0]:.2f} / '
          f'{load_after[0]:.2f} on {os.cpu_count()} CPUs')
    return figures

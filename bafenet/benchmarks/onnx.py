"""``onnx`` mode: PyTorch CPU against ONNX Runtime CPU inference of the same
detector on the same real image, runs interleaved."""
import copy
import os
import os.path as osp
import tempfile
import time
from typing import Optional, Sequence

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


def bench_onnx(*,
               config: str,
               split: str,
               repeat: int,
               shape: Sequence[int],
               data_root: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               checkpoint: Optional[str] = None,
               allow_partial_checkpoint: bool = False) -> dict:
    """The ``onnx`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str, optional): The SIRSTdevkit folder; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        split (str): The split file, relative to the data root.
        repeat (int): Timed runs.
        shape (tuple[int, int]): Input (H, W).
        checkpoint (str, optional): Trained weights; None: the initial ones.
        allow_partial_checkpoint (bool): Load a checkpoint that does not cover
            the model.

    Returns:
        dict: The figures.
    """
    height, width = shape
    model, _ = build_for_benchmark(config, 'cpu', cfg_options)
    if checkpoint:
        load_model_checkpoint(
            model,
            checkpoint,
            allow_partial=allow_partial_checkpoint)
    model.eval()
    batch = pseudo_collate([
        sample_dataset(config, split, 1, (width, height),
                       data_root=data_root, cfg_options=cfg_options)[0]
    ])
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
    for _ in range(repeat):
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
    print(f'{config}: test_step (pre-processing, forward, NMS, sky '
          f'map) of one {height}x{width} image, batch 1, {repeat} runs '
          f'after a warm-up, runs interleaved; the ONNX export took '
          f'{export_s:.1f} s')
    print(f'{"backend":<44}{"s":>8}{"min":>8}{"max":>8}{"x PyTorch":>11}')
    for name, t in times.items():
        print(f'{name:<44}{t["median"]:>8.3f}{t["min"]:>8.3f}'
              f'{t["max"]:>8.3f}{figures["speedup"][name]:>11.2f}')
    print(f'1-minute load average before/after: {load_before[0]:.2f} / '
          f'{load_after[0]:.2f} on {os.cpu_count()} CPUs')
    return figures

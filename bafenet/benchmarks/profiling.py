"""``profile`` mode: where inference time goes, and which operations of a
training step would synchronise a GPU."""
import re
import time
from typing import Optional, Sequence

import torch
from mmengine.dataset import pseudo_collate

from .common import build_for_benchmark, sample_dataset

#: A Python frame in ``torch.profiler`` events: ``path/file.py(12): name``.
PY_FRAME = re.compile(r'.+\.py\(\d+\): ')
#: Operations that make a GPU wait for the host or copy to it.
SYNC_OPS = ('aten::item', 'aten::_local_scalar_dense', 'aten::nonzero',
            'aten::is_nonzero', 'aten::equal', 'aten::unique',
            'aten::masked_select', 'aten::repeat_interleave')


def bench_profile(*,
                  config: str,
                  split: str,
                  repeat: int,
                  shape: Sequence[int],
                  batch_sizes: Sequence[int],
                  device: str,
                  data_root: Optional[str] = None,
                  cfg_options: Optional[dict] = None,
                  num_images: Optional[int] = None) -> dict:
    """The ``profile`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str, optional): The SIRSTdevkit folder; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        split (str): The split file, relative to the data root.
        num_images (int, optional): Only the first N images of the split.
        repeat (int): Timed runs.
        shape (tuple[int, int]): Input (H, W).
        batch_sizes (list[int]): The batch sizes measured.
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: The figures.
    """
    height, width = shape
    dataset = sample_dataset(
        config, split, num_images, (width, height), data_root=data_root,
        cfg_options=cfg_options)
    batch = pseudo_collate(
        [dataset[i] for i in range(max(batch_sizes))])
    model, optim_wrapper = build_for_benchmark(config, device,
                                               cfg_options)
    model.eval()

    seconds = module_times(model, batch, repeat, device)
    total = seconds.pop('total')
    seconds['other (preprocessing, post-processing, glue)'] = (
        total - sum(seconds.values()))
    print(f'Inference of {config}, batch {len(batch["inputs"])}, '
          f'{height}x{width} on {device}: {total * 1000:.1f} ms per batch '
          f'(mean of {repeat} after a warm-up)')
    print(f'{"module":<48}{"ms":>9}{"share":>8}')
    for name, value in seconds.items():
        print(f'{name:<48}{value * 1000:>9.1f}{value / total:>8.1%}')

    syncs = sync_ops_of_training_step(model, optim_wrapper, batch)
    print(f'\nOperations of one training step that synchronise a GPU '
          f'({", ".join(SYNC_OPS)}), by source line:')
    if not syncs:
        print('none')
    for (op, source), count in sorted(syncs.items(), key=lambda x: -x[1]):
        print(f'{count:>6}  {op:<28}{source}')
    return dict(
        inference_ms={k: v * 1000
                      for k, v in seconds.items()},
        inference_total_ms=total * 1000,
        training_step_syncs=[
            dict(op=op, source=source, count=count)
            for (op, source), count in syncs.items()
        ])


def module_times(model, batch: dict, repeat: int, device: str) -> dict:
    """Mean seconds per inference spent in the backbone, the neck and each
    part of the head (the layers of a tower summed), plus ``total``."""
    parts = {'backbone': [model.backbone], 'neck': [model.neck]}
    for name, child in model.bbox_head.named_children():
        if any(True for _ in child.parameters()):
            parts[f'bbox_head.{name}'] = list(child) if isinstance(
                child, torch.nn.ModuleList) else [child]
    spent = {name: 0. for name in parts}
    starts = {}

    def sync():
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    handles = []
    for name, modules in parts.items():
        for module in modules:

            def pre(module, inputs, key=id(module)):
                sync()
                starts[key] = time.perf_counter()

            def post(module, inputs, outputs, key=id(module), name=name):
                sync()
                spent[name] += time.perf_counter() - starts[key]

            handles += [
                module.register_forward_pre_hook(pre),
                module.register_forward_hook(post)
            ]
    with torch.no_grad():
        model.test_step(batch)
        spent = {name: 0. for name in parts}
        sync()
        start = time.perf_counter()
        for _ in range(repeat):
            model.test_step(batch)
        sync()
        total = time.perf_counter() - start
    for handle in handles:
        handle.remove()
    times = {name: value / repeat for name, value in spent.items()}
    times['total'] = total / repeat
    return times


def sync_ops_of_training_step(model, optim_wrapper, batch: dict) -> dict:
    """Counts of :data:`SYNC_OPS` in one training step (after a warm-up
    step), keyed by (op, the innermost Python source line outside torch).
    An op inside another of them (``item`` in ``is_nonzero``) counts once,
    as the outer one."""
    model.train()
    model.train_step(batch, optim_wrapper)
    with torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU],
            with_stack=True) as prof:
        model.train_step(batch, optim_wrapper)
    counts = {}
    for event in prof.events():
        parent = event.cpu_parent
        if event.name not in SYNC_OPS or (parent is not None
                                          and parent.name in SYNC_OPS):
            continue
        while parent is not None and not (PY_FRAME.match(parent.name) and
                                          '/torch/' not in parent.name):
            parent = parent.cpu_parent
        key = (event.name, '(unknown)' if parent is None else parent.name)
        counts[key] = counts.get(key, 0) + 1
    return counts

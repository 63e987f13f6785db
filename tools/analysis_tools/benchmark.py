"""Benchmarks that print figures (median of several runs after a warm-up,
with min and max), optionally as JSON.

Modes:

- ``model``: inference images/s and training seconds/iteration (forward,
  backward, optimizer step) of FCOS, FCOS-Seg and BAFE-Net with ResNet-18
  and ResNet-50 at 512x512, batch 1 and 2, with the peak memory of each, and
  each as a ratio to FCOS of the same backbone. The runs of the models are
  interleaved, so the ratios come from the same moments of a noisy machine.
- ``eval``: seconds to compute every figure of ``DenseSIRSTMetric`` over the
  ``test_v2`` images, from saved predictions (``tools/test.py --out``) or
  from generated ones.
- ``end2end``: seconds of ``tools/test.py`` over ``test_v2``.
- ``pipeline``: training samples per second of the full DenseSIRST pipeline
  on one core (one worker), with the config's copy-paste stage and without
  any, and the share of a sample's time that copy-paste costs.
- ``bagcp``: the BAGCopyPaste transform alone against a straightforward
  per-pixel Python implementation of the same algorithm, on the same real
  samples.
- ``exchange``: the head's forward (inference, no gradient) with the
  config's cross-task exchange and with ``exchange_ratio=0``, on FPN
  features of a 512x512 batch; the runs of both heads are interleaved.

    python tools/analysis_tools/benchmark.py pipeline --data-root DIR
    python tools/analysis_tools/benchmark.py bagcp --data-root DIR
    python tools/analysis_tools/benchmark.py exchange
    python tools/analysis_tools/benchmark.py model --data-root DIR
    python tools/analysis_tools/benchmark.py eval --data-root DIR
    python tools/analysis_tools/benchmark.py end2end --data-root DIR

Peak memory is the tensor memory a run adds at its peak: the CUDA
allocator's peak on a GPU, the running sum of the allocations
``torch.profiler`` records on a CPU.
"""
import argparse
import copy
import json
import os.path as osp
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List

import cv2
import numpy as np
import torch
import mmengine
from bagcp_reference import reference_bag_cp
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData, PixelData

from bafenet.evaluation import DenseSIRSTMetric
from bafenet.registry import DATASETS, MODELS, TRANSFORMS
from bafenet.utils import load_config, register_all_modules

DEFAULT_CONFIG = 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'
#: The detectors of the model mode, per backbone, FCOS first.
MODEL_NAMES = ['FCOS', 'FCOS-Seg', 'BAFE-Net']
MODEL_CONFIGS = {
    'r18': [
        'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
        'configs/fcos_seg/fcos-seg_r18_fpn_20e_densesirst.py',
        'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'
    ],
    'r50': [
        'configs/fcos/fcos_r50-caffe_fpn_20e_densesirst.py',
        'configs/fcos_seg/fcos-seg_r50-caffe_fpn_20e_densesirst.py',
        'configs/bafenet/bafenet_r50-caffe_fpn_20e_densesirst.py'
    ],
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'mode',
        choices=[
            'model', 'profile', 'pipeline', 'eval', 'end2end', 'bagcp',
            'exchange'
        ])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument(
        '--data-root', default='data/SIRSTdevkit', help='SIRSTdevkit folder')
    parser.add_argument('--split', default='Splits/train_v2.txt')
    parser.add_argument(
        '--num-samples', type=int, default=64, help='samples per run')
    parser.add_argument('--repeat', type=int, default=3, help='timed runs')
    parser.add_argument(
        '--batch-size', type=int, default=2, help='exchange mode batch')
    parser.add_argument(
        '--batch-sizes', type=int, nargs='+', default=[1, 2],
        help='model mode batches')
    parser.add_argument(
        '--backbones', nargs='+', choices=sorted(MODEL_CONFIGS),
        default=sorted(MODEL_CONFIGS), help='model mode backbones')
    parser.add_argument(
        '--models', nargs='+', choices=MODEL_NAMES, default=MODEL_NAMES,
        help='model mode detectors (FCOS is always measured)')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[512, 512],
        help='model and exchange mode input H W')
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
        '--predictions', help='eval mode: a tools/test.py --out pickle')
    parser.add_argument(
        '--checkpoint',
        help='end2end mode checkpoint (default: the initial weights)')
    parser.add_argument('--json', help='also write the figures to this file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def timed_runs(run: Callable[[], int], repeat: int) -> List[float]:
    """Items per second of ``repeat`` calls of ``run`` (which returns how
    many items it processed), after one warm-up call."""
    run()
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - start))
    return rates


def summary(rates: List[float]) -> Dict[str, float]:
    return dict(
        median=statistics.median(rates), min=min(rates), max=max(rates))


def train_datasets(args) -> Dict[str, object]:
    """The config's training dataset, with its copy-paste stage and with
    packing alone, over ``args.split``."""
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    mix_cfg = cfg.train_dataloader.dataset
    if mix_cfg.type != 'MultiImageMixDataset':
        raise ValueError(f'{args.config}: expected a MultiImageMixDataset '
                         'training set')
    mix_cfg.dataset.times = 1
    mix_cfg.dataset.dataset.ann_file = args.split
    plain_cfg = copy.deepcopy(mix_cfg)
    plain_cfg.pipeline = [dict(type='PackDetInputs')]
    return dict(
        copy_paste=DATASETS.build(mix_cfg), plain=DATASETS.build(plain_cfg))


def bench_pipeline(args) -> dict:
    datasets = train_datasets(args)
    num = min(args.num_samples, len(datasets['plain']))

    def iterate(dataset):
        return lambda: sum(1 for i in range(num) if dataset[i] is not None)

    figures = {
        name: summary(timed_runs(iterate(dataset), args.repeat))
        for name, dataset in datasets.items()
    }
    plain, mixed = figures['plain']['median'], figures['copy_paste']['median']
    figures['copy_paste_share_of_sample_time'] = 1 - mixed / plain
    print(f'Training pipeline, {num} samples of {args.split}, 1 worker, '
          f'1 thread ({args.config})')
    print(f'{"variant":<12}{"samples/s":>12}{"min":>10}{"max":>10}')
    for name in ('plain', 'copy_paste'):
        f = figures[name]
        print(f'{name:<12}{f["median"]:>12.1f}{f["min"]:>10.1f}'
              f'{f["max"]:>10.1f}')
    print(f'copy-paste share of a sample\'s time: '
          f'{figures["copy_paste_share_of_sample_time"]:.1%}')
    return figures


def bench_bagcp(args) -> dict:
    dataset = train_datasets(args)['plain'].dataset
    num = min(args.num_samples, len(dataset))
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(num):
        results = dataset[i]
        results['mix_results'] = [dataset[int(rng.integers(len(dataset)))]]
        pairs.append(results)
    transform = TRANSFORMS.build(dict(type='BAGCopyPaste', seed=0))

    def ours():
        batch = copy.deepcopy(pairs)
        start = time.perf_counter()
        for results in batch:
            transform(results)
        return time.perf_counter() - start

    def reference():
        batch = copy.deepcopy(pairs)
        gen = np.random.default_rng(0)
        start = time.perf_counter()
        for results in batch:
            reference_bag_cp(results, gen)
        return time.perf_counter() - start

    figures = {}
    for name, run in (('BAGCopyPaste', ours), ('per-pixel reference',
                                               reference)):
        run()
        seconds = [run() for _ in range(args.repeat)]
        figures[name] = summary([1000 * s / num for s in seconds])
    speedup = (figures['per-pixel reference']['median'] /
               figures['BAGCopyPaste']['median'])
    figures['speedup'] = speedup
    print(f'BAG-CP alone on {num} real samples of {args.split} after the '
          'pipeline\'s resize and flip, 1 thread')
    print(f'{"implementation":<22}{"ms/sample":>10}{"min":>9}{"max":>9}')
    for name in ('BAGCopyPaste', 'per-pixel reference'):
        f = figures[name]
        print(f'{name:<22}{f["median"]:>10.2f}{f["min"]:>9.2f}'
              f'{f["max"]:>9.2f}')
    print(f'speed-up over the per-pixel reference: {speedup:.1f}x')
    return figures


def bench_exchange(args) -> dict:
    cfg = load_config(args.config, args.cfg_options)
    head_cfg = cfg.model.bbox_head
    ratio = head_cfg.get('exchange_ratio')
    if head_cfg.type != 'BAFEHead' or not ratio:
        raise ValueError(f'{args.config}: needs a BAFEHead with an exchange')
    torch.manual_seed(0)
    heads = {
        'p=0': MODELS.build(dict(head_cfg, exchange_ratio=0.0)).eval(),
        f'p={ratio}': MODELS.build(head_cfg).eval(),
    }
    height, width = args.shape
    feats = tuple(
        torch.randn(args.batch_size, head_cfg.in_channels, height // s,
                    width // s) for s in head_cfg.strides)
    seconds = {name: [] for name in heads}
    with torch.no_grad():
        for name, head in heads.items():  # warm-up
            head(feats)
        for _ in range(args.repeat):
            for name, head in heads.items():
                start = time.perf_counter()
                head(feats)
                seconds[name].append(time.perf_counter() - start)
    figures = {
        name: summary([1000 * s for s in runs])
        for name, runs in seconds.items()
    }
    figures['ratio'] = (figures[f'p={ratio}']['median'] /
                        figures['p=0']['median'])
    print(f'Head forward, batch {args.batch_size}, input {height}x{width}, '
          f'{torch.get_num_threads()} thread(s), {args.repeat} runs '
          f'({args.config})')
    print(f'{"head":<10}{"ms":>10}{"min":>10}{"max":>10}')
    for name in heads:
        f = figures[name]
        print(f'{name:<10}{f["median"]:>10.1f}{f["min"]:>10.1f}'
              f'{f["max"]:>10.1f}')
    print(f'exchange / no exchange: {figures["ratio"]:.3f}')
    return figures


def peak_memory_mb(run: Callable[[], object], device: str) -> float:
    """Peak tensor memory (MiB) that one call of ``run`` adds.

    On CUDA: the allocator's peak above what was allocated before. On the
    CPU: the peak of the running sum of the allocations and frees that
    ``torch.profiler`` records during the call.
    """
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU],
            profile_memory=True) as prof:
        run()
    changes = sorted((event.time_range.start, event.self_cpu_memory_usage)
                     for event in prof.events()
                     if event.self_cpu_memory_usage)
    if not changes:
        return 0.
    return max(0., float(np.cumsum([c for _, c in changes]).max())) / 2**20


def sample_dataset(args, split: str, size=None):
    """Real samples of ``split`` with their boxes and sky maps, resized to
    ``size`` (W, H) when given (``None`` keeps the original size)."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadDetSegAnnotations')
    ]
    if size is not None:
        pipeline.append(dict(type='Resize', scale=size, keep_ratio=False))
    pipeline.append(dict(type='PackDetInputs'))
    return DATASETS.build(
        dict(
            type='DenseSIRSTDataset',
            data_root=args.data_root,
            ann_file=split,
            indices=args.num_images,
            pipeline=pipeline))


def bench_model(args) -> dict:
    device = args.device
    height, width = args.shape
    dataset = sample_dataset(args, args.split, (width, height))
    batches = {
        bs: pseudo_collate([dataset[i] for i in range(bs)])
        for bs in args.batch_sizes
    }
    models = [name for name in MODEL_NAMES if name in args.models]
    if 'FCOS' not in models:
        models.insert(0, 'FCOS')
    figures = {}
    for backbone in args.backbones:
        built = {}
        for name, config in zip(MODEL_NAMES, MODEL_CONFIGS[backbone]):
            if name in models:
                built[name] = build_for_benchmark(config, device,
                                                  args.cfg_options)
        for bs, batch in batches.items():
            rows = time_models(built, batch, args.repeat, device)
            fcos = rows['FCOS']
            for name, row in rows.items():
                ips = {k: bs / v for k, v in row['infer_s'].items()}
                row['infer_img_per_s'] = dict(
                    median=ips['median'], min=ips['max'], max=ips['min'])
                for step in ('infer', 'train'):
                    row[f'{step}_ratio'] = (row[f'{step}_s']['median'] /
                                            fcos[f'{step}_s']['median'])
                figures[f'{name}-{backbone.upper()} b{bs}'] = row

    print(f'Detectors at {height}x{width} on {device} '
          f'({torch.get_num_threads()} threads), {args.repeat} timed runs '
          'after a warm-up, runs of the models interleaved')
    print(f'{"model, batch":<20}{"infer img/s":>12}{"(min-max)":>14}'
          f'{"x FCOS":>8}{"train s/it":>11}{"(min-max)":>14}{"x FCOS":>8}'
          f'{"infer MiB":>10}{"train MiB":>10}')
    for key, row in figures.items():
        ips, t = row['infer_img_per_s'], row['train_s']
        print(f'{key:<20}{ips["median"]:>12.2f}'
              f'{ips["min"]:>7.2f}-{ips["max"]:<6.2f}'
              f'{row["infer_ratio"]:>8.2f}{t["median"]:>11.2f}'
              f'{t["min"]:>7.2f}-{t["max"]:<6.2f}'
              f'{row["train_ratio"]:>8.2f}{row["infer_peak_mib"]:>10.0f}'
              f'{row["train_peak_mib"]:>10.0f}')
    print('x FCOS: time per image (inference) and per iteration (training) '
          'over that of FCOS with the same backbone and batch')
    return figures


def build_for_benchmark(config: str, device: str, cfg_options=None):
    """A detector of ``config`` with ``cfg_options`` (no pretrained
    download) and its optimizer wrapper, on ``device``."""
    cfg = load_config(config, cfg_options)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def time_models(built: dict, batch: dict, repeat: int, device: str) -> dict:
    """Seconds per inference and per training step of each model on
    ``batch``, and the peak memory of each; runs interleaved."""

    def sync():
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    def infer(model, optim_wrapper):
        model.eval()
        with torch.no_grad():
            model.test_step(batch)

    def train(model, optim_wrapper):
        model.train()
        model.train_step(batch, optim_wrapper)

    steps = dict(infer=infer, train=train)
    seconds = {name: {step: [] for step in steps} for name in built}
    for name, pair in built.items():  # warm-up
        for step in steps.values():
            step(*pair)
    for _ in range(repeat):
        for name, pair in built.items():
            for step_name, step in steps.items():
                sync()
                start = time.perf_counter()
                step(*pair)
                sync()
                seconds[name][step_name].append(time.perf_counter() - start)
    rows = {}
    for name, pair in built.items():
        rows[name] = {
            f'{step}_s': summary(runs)
            for step, runs in seconds[name].items()
        }
        for step_name, step in steps.items():
            rows[name][f'{step_name}_peak_mib'] = peak_memory_mb(
                lambda: step(*pair), device)
    return rows


#: A Python frame in ``torch.profiler`` events: ``path/file.py(12): name``.
PY_FRAME = re.compile(r'.+\.py\(\d+\): ')
#: Operations that make a GPU wait for the host or copy to it.
SYNC_OPS = ('aten::item', 'aten::_local_scalar_dense', 'aten::nonzero',
            'aten::is_nonzero', 'aten::equal', 'aten::unique',
            'aten::masked_select', 'aten::repeat_interleave')


def bench_profile(args) -> dict:
    device = args.device
    height, width = args.shape
    dataset = sample_dataset(args, args.split, (width, height))
    batch = pseudo_collate(
        [dataset[i] for i in range(max(args.batch_sizes))])
    model, optim_wrapper = build_for_benchmark(args.config, device,
                                               args.cfg_options)
    model.eval()

    seconds = module_times(model, batch, args.repeat, device)
    total = seconds.pop('total')
    seconds['other (preprocessing, post-processing, glue)'] = (
        total - sum(seconds.values()))
    print(f'Inference of {args.config}, batch {len(batch["inputs"])}, '
          f'{height}x{width} on {device}: {total * 1000:.1f} ms per batch '
          f'(mean of {args.repeat} after a warm-up)')
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


def bench_eval(args) -> dict:
    dataset = sample_dataset(args, args.test_split)
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    if args.predictions:
        source = args.predictions
        attach_saved_predictions(samples, args.predictions)
    else:
        source = 'generated (jittered ground truth and false alarms)'
        attach_generated_predictions(samples, np.random.default_rng(0))
    samples = [sample.to_dict() for sample in samples]
    meta = dataset.metainfo

    metric = DenseSIRSTMetric()
    metric.dataset_meta = meta

    def evaluate():
        metric.results.clear()
        start = time.perf_counter()
        for sample in samples:
            metric.process({}, [sample])
        middle = time.perf_counter()
        metrics = metric.compute_metrics(metric.results)
        end = time.perf_counter()
        return middle - start, end - middle, metrics

    metrics = evaluate()[2]
    parts = [evaluate()[:2] for _ in range(args.repeat)]
    figures = dict(
        num_images=len(samples),
        num_predictions=int(sum(len(s['pred_instances']['scores'])
                                for s in samples)),
        predictions=source,
        process_s=summary([p for p, _ in parts]),
        compute_s=summary([c for _, c in parts]),
        total_s=summary([p + c for p, c in parts]),
        metrics=metrics)
    print(f'DenseSIRSTMetric over {len(samples)} images of '
          f'{args.test_split}, {figures["num_predictions"]} predictions '
          f'({source})')
    print(f'{"part":<28}{"s":>8}{"min":>8}{"max":>8}')
    for key, label in (('process_s', 'per-image results (process)'),
                       ('compute_s', 'matching, figures (compute)'),
                       ('total_s', 'all figures')):
        f = figures[key]
        print(f'{label:<28}{f["median"]:>8.2f}{f["min"]:>8.2f}'
              f'{f["max"]:>8.2f}')
    return figures


def attach_saved_predictions(samples: list, path: str) -> None:
    """Copy the predictions of a ``tools/test.py --out`` pickle onto the
    samples with the same ``img_path``."""
    saved = {pred['img_path']: pred for pred in mmengine.load(path)}
    for sample in samples:
        if sample.img_path not in saved:
            raise KeyError(f'{path}: no prediction for {sample.img_path}')
        pred = saved[sample.img_path]
        sample.pred_instances = InstanceData(**pred['pred_instances'])
        if 'pred_sem_seg' in pred:
            sample.pred_sem_seg = PixelData(**pred['pred_sem_seg'])


def attach_generated_predictions(samples: list,
                                 rng: np.random.Generator) -> None:
    """Predictions as a detector's worst case for the metric: 100 boxes per
    image (the models' ``max_per_img``), 80% of the targets found with
    1 px of jitter, the rest false alarms; the sky map is the annotated one
    with 5% of its pixels flipped."""
    for sample in samples:
        gt = sample.gt_instances.bboxes.numpy()
        height, width = sample.ori_shape
        found = gt[rng.random(len(gt)) < 0.8][:100]
        found = found + rng.normal(0, 1, found.shape)
        centres = rng.uniform((0, 0), (width, height), (100 - len(found), 2))
        sizes = rng.uniform(2, 6, centres.shape)
        false = np.hstack([centres - sizes / 2, centres + sizes / 2])
        boxes = np.vstack([found, false]).astype(np.float32)
        scores = np.concatenate([
            rng.uniform(0.3, 1, len(found)),
            rng.uniform(0.05, 0.6, len(false))
        ]).astype(np.float32)
        order = np.argsort(-scores)
        sample.pred_instances = InstanceData(
            bboxes=torch.from_numpy(boxes[order]),
            scores=torch.from_numpy(scores[order]),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        sky = sample.gt_sem_seg.sem_seg.clone()
        flip = torch.from_numpy(rng.random(sky.shape) < 0.05)
        sky[flip & (sky != 255)] ^= 1
        sky[sky == 255] = 0
        sample.pred_sem_seg = PixelData(sem_seg=sky)


def bench_end2end(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            model, _ = build_for_benchmark(args.config, 'cpu',
                                           args.cfg_options)
            checkpoint = osp.join(tmp, 'initial.pth')
            torch.save(dict(state_dict=model.state_dict()), checkpoint)
        options = [f'{key}={value}'
                   for key, value in (args.cfg_options or {}).items()]
        options.append(f'test_dataloader.dataset.ann_file={args.test_split}')
        if args.num_images:
            options.append(
                f'test_dataloader.dataset.indices={args.num_images}')
        command = [
            sys.executable, 'tools/test.py', args.config, checkpoint,
            '--data-root', args.data_root, '--work-dir', tmp,
            '--cfg-options', *options
        ]
        seconds = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise RuntimeError('tools/test.py failed:\n' +
                                   (proc.stdout + proc.stderr)[-3000:])
        if not osp.isfile(osp.join(tmp, 'metrics.json')):
            raise RuntimeError('tools/test.py wrote no metrics.json')
    with open(osp.join(args.data_root, args.test_split)) as f:
        num_images = len(f.read().split())
    if args.num_images:
        num_images = min(num_images, args.num_images)
    figures = dict(
        checkpoint=args.checkpoint or 'initial weights',
        num_images=num_images,
        wall_s=summary(seconds))
    f = figures['wall_s']
    print(f'tools/test.py {args.config} over {num_images} images of '
          f'{args.test_split} ({figures["checkpoint"]}), {args.repeat} runs')
    print(f'wall time: {f["median"]:.1f} s (min {f["min"]:.1f}, max '
          f'{f["max"]:.1f}); {num_images / f["median"]:.2f} images/s')
    return figures


def main():
    args = parse_args()
    register_all_modules()
    # Building models and optimizers logs every parameter; keep errors only.
    MMLogger.get_instance('benchmark', log_level='ERROR')
    if args.mode in ('pipeline', 'bagcp'):  # data work is per worker
        torch.set_num_threads(1)
        cv2.setNumThreads(1)
    figures = dict(
        model=bench_model,
        profile=bench_profile,
        pipeline=bench_pipeline,
        eval=bench_eval,
        end2end=bench_end2end,
        bagcp=bench_bagcp,
        exchange=bench_exchange)[args.mode](args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(mode=args.mode, config=args.config, **figures), f,
                      indent=2)


if __name__ == '__main__':
    main()

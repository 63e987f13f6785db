"""Benchmarks that print figures (median of several runs after a warm-up,
with min and max), optionally as JSON.

Modes:

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
"""
import argparse
import copy
import json
import statistics
import time
from typing import Callable, Dict, List

import cv2
import numpy as np
import torch
from bagcp_reference import reference_bag_cp
from mmengine.config import DictAction

from bafenet.registry import DATASETS, MODELS, TRANSFORMS
from bafenet.utils import load_config, register_all_modules

DEFAULT_CONFIG = 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mode', choices=['pipeline', 'bagcp', 'exchange'])
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
        '--shape', type=int, nargs=2, default=[512, 512],
        help='exchange mode input H W')
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


def main():
    args = parse_args()
    register_all_modules()
    if args.mode != 'exchange':  # data work is measured per worker
        torch.set_num_threads(1)
        cv2.setNumThreads(1)
    figures = dict(
        pipeline=bench_pipeline, bagcp=bench_bagcp,
        exchange=bench_exchange)[args.mode](args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(mode=args.mode, config=args.config, **figures), f,
                      indent=2)


if __name__ == '__main__':
    main()

"""``pipeline`` and ``bagcp`` modes: the training data pipeline and
BAG-CP against its per-pixel reference."""
import copy
import time
from typing import Dict, Optional

import numpy as np

from bafenet.registry import DATASETS, TRANSFORMS
from bafenet.utils import load_config
from .bagcp_reference import reference_bag_cp
from .common import summary, timed_runs


def train_datasets(config: str,
                   split: str,
                   data_root: Optional[str] = None,
                   cfg_options: Optional[dict] = None) -> Dict[str, object]:
    """The config's training dataset over ``split``, with its copy-paste
    stage and with packing alone.

    Args:
        config (str): A config whose training set is a
            ``MultiImageMixDataset``.
        split (str): The split file, relative to the data root.
        data_root (str, optional): The data root; None: the config's.
        cfg_options (dict, optional): Overrides of the config.

    Returns:
        dict: ``copy_paste`` and ``plain`` datasets.
    """
    cfg = load_config(config, cfg_options, data_root)
    mix_cfg = cfg.train_dataloader.dataset
    if mix_cfg.type != 'MultiImageMixDataset':
        raise ValueError(f'{config}: expected a MultiImageMixDataset '
                         'training set')
    mix_cfg.dataset.times = 1
    mix_cfg.dataset.dataset.ann_file = split
    plain_cfg = copy.deepcopy(mix_cfg)
    plain_cfg.pipeline = [dict(type='PackDetInputs')]
    return dict(
        copy_paste=DATASETS.build(mix_cfg), plain=DATASETS.build(plain_cfg))


def bench_pipeline(*,
                   config: str,
                   split: str,
                   num_samples: int,
                   repeat: int,
                   data_root: Optional[str] = None,
                   cfg_options: Optional[dict] = None) -> dict:
    """The ``pipeline`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str, optional): The SIRSTdevkit folder; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        split (str): The split file, relative to the data root.
        num_samples (int): Samples per timed run.
        repeat (int): Timed runs.

    Returns:
        dict: The figures.
    """
    datasets = train_datasets(config, split, data_root, cfg_options)
    num = min(num_samples, len(datasets['plain']))

    def iterate(dataset):
        return lambda: sum(1 for i in range(num) if dataset[i] is not None)

    figures = {
        name: summary(timed_runs(iterate(dataset), repeat))
        for name, dataset in datasets.items()
    }
    plain, mixed = figures['plain']['median'], figures['copy_paste']['median']
    figures['copy_paste_share_of_sample_time'] = 1 - mixed / plain
    print(f'Training pipeline, {num} samples of {split}, 1 worker, '
          f'1 thread ({config})')
    print(f'{"variant":<12}{"samples/s":>12}{"min":>10}{"max":>10}')
    for name in ('plain', 'copy_paste'):
        f = figures[name]
        print(f'{name:<12}{f["median"]:>12.1f}{f["min"]:>10.1f}'
              f'{f["max"]:>10.1f}')
    print(f'copy-paste share of a sample\'s time: '
          f'{figures["copy_paste_share_of_sample_time"]:.1%}')
    return figures


def bench_bagcp(*,
                config: str,
                split: str,
                num_samples: int,
                repeat: int,
                data_root: Optional[str] = None,
                cfg_options: Optional[dict] = None) -> dict:
    """The ``bagcp`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str, optional): The SIRSTdevkit folder; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        split (str): The split file, relative to the data root.
        num_samples (int): Samples per timed run.
        repeat (int): Timed runs.

    Returns:
        dict: The figures.
    """
    dataset = train_datasets(config, split, data_root,
                             cfg_options)['plain'].dataset
    num = min(num_samples, len(dataset))
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
        seconds = [run() for _ in range(repeat)]
        figures[name] = summary([1000 * s / num for s in seconds])
    speedup = (figures['per-pixel reference']['median'] /
               figures['BAGCopyPaste']['median'])
    figures['speedup'] = speedup
    print(f'BAG-CP alone on {num} real samples of {split} after the '
          'pipeline\'s resize and flip, 1 thread')
    print(f'{"implementation":<22}{"ms/sample":>10}{"min":>9}{"max":>9}')
    for name in ('BAGCopyPaste', 'per-pixel reference'):
        f = figures[name]
        print(f'{name:<22}{f["median"]:>10.2f}{f["min"]:>9.2f}'
              f'{f["max"]:>9.2f}')
    print(f'speed-up over the per-pixel reference: {speedup:.1f}x')
    return figures

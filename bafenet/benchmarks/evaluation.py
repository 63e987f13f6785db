"""``eval`` and ``end2end`` modes: the cost of computing the metrics, and
``tools/test.py`` start to finish. (To evaluate saved predictions, use
``tools/analysis_tools/eval_metric.py``.)"""
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Optional

import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData

from bafenet.evaluation import DenseSIRSTMetric
from .common import build_for_benchmark, sample_dataset, summary


def bench_eval(*,
               config: str,
               test_split: str,
               repeat: int,
               data_root: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               num_images: Optional[int] = None) -> dict:
    """The ``eval`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str, optional): The SIRSTdevkit folder; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        test_split (str): The split file evaluated, relative to the data root.
        num_images (int, optional): Only the first N images of the split.
        repeat (int): Timed runs.

    Returns:
        dict: The figures.
    """
    dataset = sample_dataset(
        config, test_split, num_images, data_root=data_root,
        cfg_options=cfg_options)
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
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
    parts = [evaluate()[:2] for _ in range(repeat)]
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
          f'{test_split}, {figures["num_predictions"]} predictions '
          f'({source})')
    print(f'{"part":<28}{"s":>8}{"min":>8}{"max":>8}')
    for key, label in (('process_s', 'per-image results (process)'),
                       ('compute_s', 'matching, figures (compute)'),
                       ('total_s', 'all figures')):
        f = figures[key]
        print(f'{label:<28}{f["median"]:>8.2f}{f["min"]:>8.2f}'
              f'{f["max"]:>8.2f}')
    return figures


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


def bench_end2end(*,
                  config: str,
                  test_split: str,
                  repeat: int,
                  data_root: str,
                  cfg_options: Optional[dict] = None,
                  num_images: Optional[int] = None,
                  checkpoint: Optional[str] = None) -> dict:
    """The ``end2end`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str): The SIRSTdevkit folder.
        cfg_options (dict, optional): Overrides of the config.
        test_split (str): The split file evaluated, relative to the data root.
        num_images (int, optional): Only the first N images of the split.
        repeat (int): Timed runs.
        checkpoint (str, optional): Trained weights; None: the initial ones.

    Returns:
        dict: The figures.
    """
    with tempfile.TemporaryDirectory() as tmp:
        weights = checkpoint
        if weights is None:
            model, _ = build_for_benchmark(config, 'cpu', cfg_options)
            weights = osp.join(tmp, 'initial.pth')
            torch.save(dict(state_dict=model.state_dict()), weights)
        options = [f'{key}={value}'
                   for key, value in (cfg_options or {}).items()]
        options.append(f'test_dataloader.dataset.ann_file={test_split}')
        if num_images:
            options.append(
                f'test_dataloader.dataset.indices={num_images}')
        command = [
            sys.executable, 'tools/test.py', config, weights,
            '--data-root', data_root, '--work-dir', tmp,
            '--cfg-options', *options
        ]
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            seconds.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise RuntimeError('tools/test.py failed:\n' +
                                   (proc.stdout + proc.stderr)[-3000:])
        if not osp.isfile(osp.join(tmp, 'metrics.json')):
            raise RuntimeError('tools/test.py wrote no metrics.json')
    with open(osp.join(data_root, test_split)) as f:
        scored = len(f.read().split())
    if num_images:
        scored = min(scored, num_images)
    figures = dict(
        checkpoint=checkpoint or 'initial weights',
        num_images=scored,
        wall_s=summary(seconds))
    f = figures['wall_s']
    print(f'tools/test.py {config} over {scored} images of '
          f'{test_split} ({figures["checkpoint"]}), {repeat} runs')
    print(f'wall time: {f["median"]:.1f} s (min {f["min"]:.1f}, max '
          f'{f["max"]:.1f}); {scored / f["median"]:.2f} images/s')
    return figures

"""What the benchmark modes share: timing, memory, samples and models."""
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.optim import build_optim_wrapper

from bafenet.registry import DATASETS, MODELS
from bafenet.utils import innermost_dataset_cfg, load_config

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
#: Our full-coverage detectors, measured by the model mode when named in
#: ``--models`` (ResNet-18 only).
FULLCOV_NAMES = ['FCOS-fullcov', 'BAFE-Net-fullcov']
FULLCOV_CONFIGS = {
    'r18': [
        'configs/fcos/fcos-fullcov_r18_fpn_20e_densesirst.py',
        'configs/bafenet/bafenet-fullcov_r18_fpn_20e_densesirst.py'
    ],
}


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


def sample_dataset(config: str,
                   split: str,
                   num_images: Optional[int] = None,
                   size: Optional[Tuple[int, int]] = None,
                   data_root: Optional[str] = None,
                   cfg_options: Optional[dict] = None):
    """Real samples of ``split`` with their boxes and sky maps, from the
    config's test dataset (its type, folders and options), resized to
    ``size`` when given.

    Args:
        config (str): The config whose test dataset is read.
        split (str): The split file, relative to the data root.
        num_images (int, optional): Only the first N images.
        size (tuple[int, int], optional): (W, H) to resize to; None keeps
            each image's size.
        data_root (str, optional): The data root; None: the config's.
        cfg_options (dict, optional): Overrides of the config.

    Returns:
        BaseDataset: Packed samples (``inputs``, ``data_samples``).
    """
    cfg = load_config(config, cfg_options, data_root)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadDetSegAnnotations')
    ]
    if size is not None:
        pipeline.append(dict(type='Resize', scale=size, keep_ratio=False))
    pipeline.append(dict(type='PackDetInputs'))
    dataset_cfg = innermost_dataset_cfg(cfg.test_dataloader.dataset).copy()
    dataset_cfg.update(
        ann_file=split, indices=num_images, pipeline=pipeline,
        test_mode=True)
    return DATASETS.build(dataset_cfg)


def build_for_benchmark(config: str, device: str, cfg_options=None):
    """A detector of ``config`` with ``cfg_options`` (no pretrained
    download) and its optimizer wrapper, on ``device``."""
    cfg = load_config(config, cfg_options)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    return model, build_optim_wrapper(model, cfg.optim_wrapper)

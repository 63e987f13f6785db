"""``model`` and ``exchange`` modes: detectors side by side, and the
cross-task exchange inside the BAFE-Net head."""
import time
from typing import Optional, Sequence

import torch
from mmengine.dataset import pseudo_collate

from bafenet.registry import MODELS
from bafenet.utils import load_config
from .common import (FULLCOV_CONFIGS, FULLCOV_NAMES, MODEL_CONFIGS,
                     MODEL_NAMES, build_for_benchmark, peak_memory_mb,
                     sample_dataset, summary)


def bench_model(*,
                config: str,
                split: str,
                repeat: int,
                shape: Sequence[int],
                batch_sizes: Sequence[int],
                device: str,
                models: Sequence[str],
                backbones: Sequence[str],
                data_root: Optional[str] = None,
                cfg_options: Optional[dict] = None,
                num_images: Optional[int] = None) -> dict:
    """The ``model`` mode; prints its table.

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
        models (list[str]): Names of the detectors measured (``MODEL_NAMES``,
            ``FULLCOV_NAMES``).
        backbones (list[str]): The backbones measured.

    Returns:
        dict: The figures.
    """
    height, width = shape
    dataset = sample_dataset(
        config, split, num_images, (width, height), data_root=data_root,
        cfg_options=cfg_options)
    batches = {
        bs: pseudo_collate([dataset[i] for i in range(bs)])
        for bs in batch_sizes
    }
    models = [
        name for name in MODEL_NAMES + FULLCOV_NAMES if name in models
    ]
    if 'FCOS' not in models:
        models.insert(0, 'FCOS')
    figures = {}
    for backbone in backbones:
        built = {}
        for name, model_config in [
                *zip(MODEL_NAMES, MODEL_CONFIGS[backbone]),
                *zip(FULLCOV_NAMES, FULLCOV_CONFIGS.get(backbone, []))
        ]:
            if name in models:
                built[name] = build_for_benchmark(model_config, device,
                                                  cfg_options)
        for bs, batch in batches.items():
            rows = time_models(built, batch, repeat, device)
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
          f'({torch.get_num_threads()} threads), {repeat} timed runs '
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


def bench_channels_last(*,
                        config: str,
                        split: str,
                        repeat: int,
                        shape: Sequence[int],
                        batch_size: int,
                        device: str,
                        data_root: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        num_images: Optional[int] = None) -> dict:
    """The ``channels-last`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        data_root (str, optional): The SIRSTdevkit folder; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        split (str): The split file, relative to the data root.
        num_images (int, optional): Only the first N images of the split.
        repeat (int): Timed runs.
        shape (tuple[int, int]): Input (H, W).
        batch_size (int): Images per batch.
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: The figures.
    """
    """Training and inference steps of ``--config`` with contiguous (NCHW)
    and channels-last (NHWC, ``ChannelsLastHook``) weights, on the same
    real batch (``--batch-size`` images of ``--split`` at ``--shape``), the
    same initial weights, runs interleaved."""
    height, width = shape
    dataset = sample_dataset(
        config, split, num_images, (width, height), data_root=data_root,
        cfg_options=cfg_options)
    batch = pseudo_collate([dataset[i] for i in range(batch_size)])
    built = {}
    for memory_format in (torch.contiguous_format, torch.channels_last):
        model, optim_wrapper = build_for_benchmark(config, device,
                                                   cfg_options)
        built[str(memory_format)] = (model.to(memory_format=memory_format),
                                     optim_wrapper)
    rows = time_models(built, batch, repeat, device)
    nchw, nhwc = rows.values()
    figures = dict(
        contiguous=nchw,
        channels_last=nhwc,
        train_speedup=nchw['train_s']['median'] / nhwc['train_s']['median'],
        infer_speedup=nchw['infer_s']['median'] / nhwc['infer_s']['median'])
    print(f'{config} at {height}x{width}, batch {batch_size}, on '
          f'{device} ({torch.get_num_threads()} threads), '
          f'{repeat} timed runs after a warm-up, interleaved')
    print(f'{"weights":<16}{"train s/it":>11}{"(min-max)":>14}'
          f'{"infer s/batch":>14}{"(min-max)":>14}')
    for name, row in (('contiguous', nchw), ('channels-last', nhwc)):
        t, i = row['train_s'], row['infer_s']
        print(f'{name:<16}{t["median"]:>11.3f}'
              f'{t["min"]:>7.3f}-{t["max"]:<6.3f}{i["median"]:>14.3f}'
              f'{i["min"]:>7.3f}-{i["max"]:<6.3f}')
    print(f'channels-last speed-up: training step '
          f'{figures["train_speedup"]:.2f}x, inference '
          f'{figures["infer_speedup"]:.2f}x')
    return figures


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


def bench_exchange(*,
                   config: str,
                   repeat: int,
                   shape: Sequence[int],
                   batch_size: int,
                   cfg_options: Optional[dict] = None) -> dict:
    """The ``exchange`` mode; prints its table.

    Args:
        config (str): The config file of the model (and data).
        cfg_options (dict, optional): Overrides of the config.
        repeat (int): Timed runs.
        shape (tuple[int, int]): Input (H, W).
        batch_size (int): Images per batch.

    Returns:
        dict: The figures.
    """
    cfg = load_config(config, cfg_options)
    head_cfg = cfg.model.bbox_head
    ratio = head_cfg.get('exchange_cfg', {}).get('ratio')
    if head_cfg.type != 'BAFEHead' or not ratio:
        raise ValueError(f'{config}: needs a BAFEHead with an exchange')
    torch.manual_seed(0)
    heads = {
        'p=0': MODELS.build(
            dict(head_cfg, exchange_cfg=dict(head_cfg.exchange_cfg,
                                             ratio=0.0))).eval(),
        f'p={ratio}': MODELS.build(head_cfg).eval(),
    }
    height, width = shape
    feats = tuple(
        torch.randn(batch_size, head_cfg.in_channels, height // s,
                    width // s) for s in head_cfg.strides)
    seconds = {name: [] for name in heads}
    with torch.no_grad():
        for name, head in heads.items():  # warm-up
            head(feats)
        for _ in range(repeat):
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
    print(f'Head forward, batch {batch_size}, input {height}x{width}, '
          f'{torch.get_num_threads()} thread(s), {repeat} runs '
          f'({config})')
    print(f'{"head":<10}{"ms":>10}{"min":>10}{"max":>10}')
    for name in heads:
        f = figures[name]
        print(f'{name:<10}{f["median"]:>10.1f}{f["min"]:>10.1f}'
              f'{f["max"]:>10.1f}')
    print(f'exchange / no exchange: {figures["ratio"]:.3f}')
    return figures

"""Does the recall ceiling of the assignment move, or only its
bookkeeping? A training experiment on a few images.

    python tools/analysis_tools/recall_ceiling.py --data-root DIR \
        [--split Splits/train_v2.txt] [--num-images 6] [--iters 800] \
        [--width 8] [--lr 1e-3] [--shape 512 512] [--crop 128] [--json FILE]

FCOS-R18 with the paper's assignment, and FCOS-R18 and BAFE-Net-R18 with
full coverage, each train on the same K real training images (all K in
every step, no augmentation) from random initialisation, and are evaluated
on those same images with ``DenseSIRSTMetric`` (VOC recall and mAP07 at IoU
0.5). Fitting the training images is the easiest test there is: a detector
whose assignment gives a target no positive location cannot learn it even
there, so the paper assignment should stop near its coverage while full
coverage should find almost every target.

The images (the training dataset of the first config, with ``--split``
and ``--data-root``) are resized to ``--shape`` (512x512, so targets have
the size the detectors see in training) and, with ``--crop S``, each is cut
to its S x S window holding the most whole targets (none cut), which
divides the cost by (512 / S)^2 at the same target scale. Training and evaluation see
the same samples, so the figures are in the network's coordinates.

To fit a CPU, the networks are narrowed: ResNet-18 with ``--width`` base
channels instead of 64, and the FPN and head with 4x that many (256 at
full width); the depth, levels, assignment and losses are the configs'.
The optimiser is AdamW (``--lr``, no weight decay, gradients clipped at
norm 10) with the rate divided by 10 for the last fifth of ``--iters``;
BatchNorm sees the same K images in every step, so its running statistics
are those of the evaluated batch.
"""
import argparse
import json
import time

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData, PixelData

from bafenet.evaluation import DenseSIRSTMetric
from bafenet.models.task_modules import (head_assignment, padded_shape,
                                         positives_per_gt)
from bafenet.registry import DATASETS, MODELS
from bafenet.utils import (innermost_dataset_cfg, load_config,
                           register_all_modules)

#: The detectors compared.
CEILING_CONFIGS = {
    'FCOS-R18 (paper assignment)':
    'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
    'FCOS-R18 full coverage':
    'configs/fcos/fcos-fullcov_r18_fpn_20e_densesirst.py',
    'BAFE-Net-R18 full coverage':
    'configs/bafenet/bafenet-fullcov_r18_fpn_20e_densesirst.py',
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', help='SIRSTdevkit folder')
    parser.add_argument('--split', default='Splits/train_v2.txt')
    parser.add_argument(
        '--num-images', type=int, default=6, help='the first K images')
    parser.add_argument('--iters', type=int, default=800,
                        help='training steps')
    parser.add_argument(
        '--width', type=int, default=8,
        help='ResNet-18 base channels (64 at full width)')
    parser.add_argument('--lr', type=float, default=1e-3, help='AdamW lr')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=[512, 512],
        metavar=('H', 'W'), help='input size')
    parser.add_argument(
        '--crop', type=int, default=128,
        help='cut each resized image to its window of this side holding '
        'the most whole targets (0: whole images)')
    parser.add_argument('--json', help='also write the figures here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def narrowed_config(config: str,
                    width: int,
                    cfg_options=None,
                    data_root: str = None):
    """``config`` with a ResNet of ``width`` base channels (64 in ResNet-18)
    and an FPN and head of ``4 * width`` channels, randomly initialised.

    Raises:
        ValueError: If ``width`` is not a positive multiple of 8 (the head's
            GroupNorm needs channels divisible by its groups).
    """
    if width <= 0 or width % 8:
        raise ValueError(f'--width {width}: must be a positive multiple of 8')
    cfg = load_config(config, cfg_options, data_root)
    model = cfg.model
    model.backbone.init_cfg = None
    model.backbone.base_channels = width
    expansion = 1 if model.backbone.depth in (18, 34) else 4
    model.neck.in_channels = [width * expansion * 2**i for i in range(4)]
    model.neck.out_channels = 4 * width
    model.bbox_head.in_channels = 4 * width
    model.bbox_head.feat_channels = 4 * width
    return cfg


def training_images(cfg, split: str, num_images: int, size, crop: int = 0):
    """The first ``num_images`` images of ``split`` of the config's training
    dataset, resized to ``size`` (W, H), with their boxes and sky maps, each
    cut to its ``crop`` x ``crop`` window holding the most whole targets and
    cutting none (0: whole images).

    The samples are evaluated as they are trained on: their ``ori_shape``
    is their ``img_shape`` and their scale factor 1, so predictions and
    ground truth meet in the network's coordinates.

    Returns:
        tuple: The packed samples (list of dict) and the dataset's
        ``metainfo``.
    """
    dataset_cfg = innermost_dataset_cfg(cfg.train_dataloader.dataset).copy()
    dataset_cfg.update(
        ann_file=split,
        indices=num_images,
        filter_cfg=None,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadDetSegAnnotations'),
            dict(type='Resize', scale=size, keep_ratio=False),
            dict(type='PackDetInputs')
        ])
    dataset = DATASETS.build(dataset_cfg)
    samples = []
    for index in range(len(dataset)):
        sample = dataset[index]
        if crop:
            sample = crop_to_targets(sample, crop)
        shape = tuple(sample['inputs'].shape[-2:])
        sample['data_samples'].set_metainfo(
            dict(img_shape=shape, ori_shape=shape, scale_factor=(1., 1.)))
        samples.append(sample)
    return samples, dataset.metainfo


def crop_to_targets(sample: dict, size: int, step: int = 8) -> dict:
    """Cut a packed sample to the ``size`` x ``size`` window (origins on a
    ``step`` px grid) that holds the most whole ground-truth boxes and cuts
    none; boxes outside it are dropped.

    Args:
        sample (dict): ``inputs`` (3, H, W) and ``data_samples`` with
            ``gt_instances`` and ``gt_sem_seg``.
        size (int): Window side, at most min(H, W).

    Returns:
        dict: The cut sample (a new ``DetDataSample``).

    Raises:
        ValueError: If the window is larger than the image.
    """
    inputs, data_sample = sample['inputs'], sample['data_samples']
    height, width = inputs.shape[-2:]
    if size > min(height, width):
        raise ValueError(f'--crop {size} exceeds the {height}x{width} input')
    boxes = data_sample.gt_instances.bboxes.tensor
    ys, xs = torch.meshgrid(
        torch.arange(0, height - size + 1, step),
        torch.arange(0, width - size + 1, step),
        indexing='ij')
    origins = torch.stack([xs.flatten(), ys.flatten()], 1).float()  # (N, 2)
    low, high = origins[:, None], origins[:, None] + size  # (N, 1, 2)
    inside = ((boxes[None, :, :2] >= low) &
              (boxes[None, :, 2:] <= high)).all(-1)  # (N, G)
    overlaps = ((boxes[None, :, :2] < high) &
                (boxes[None, :, 2:] > low)).all(-1)
    score = inside.sum(1) - (len(boxes) + 1) * (overlaps & ~inside).any(1)
    x, y = origins[int(score.argmax())].long().tolist()
    keep = inside[int(score.argmax())]

    cut = DetDataSample(metainfo=data_sample.metainfo)
    shift = boxes.new_tensor([x, y, x, y])
    cut.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(boxes[keep] - shift),
        labels=data_sample.gt_instances.labels[keep])
    cut.ignored_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.zeros(0, 4)),
        labels=torch.zeros(0, dtype=torch.long))
    cut.gt_sem_seg = PixelData(
        sem_seg=data_sample.gt_sem_seg.sem_seg[:, y:y + size, x:x + size])
    return dict(
        inputs=inputs[:, y:y + size, x:x + size].contiguous(),
        data_samples=cut)


def coverage_of(head, samples) -> float:
    """Share of the boxes of ``samples`` with a positive location under the
    head's own assignment (``positives_per_gt``)."""
    covered = total = 0
    for sample in samples:
        boxes = sample['data_samples'].gt_instances.bboxes.tensor
        if not len(boxes):
            continue
        shape = padded_shape(sample['data_samples'].img_shape, 32)
        covered += int(
            (positives_per_gt(*head_assignment(head), shape, boxes) > 0).any(
                0).sum())
        total += len(boxes)
    return covered / max(total, 1)


def train_and_evaluate(cfg, train_batch: dict, test_samples: list,
                       meta: dict, iters: int, lr: float) -> dict:
    """Train a model of ``cfg`` on ``train_batch`` for ``iters`` steps of
    AdamW at ``lr`` (a tenth of it for the last fifth) and evaluate it on
    ``test_samples``; losses every step, figures at the end."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    # NHWC convolutions, as ChannelsLastHook gives the Runner (same values)
    model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, weight_decay=0.0)
    optim_wrapper = OptimWrapper(optimizer, clip_grad=dict(max_norm=10.0))
    decay_at = int(0.8 * iters)
    losses = []
    start = time.perf_counter()
    for step in range(iters):
        if step == decay_at:
            for group in optimizer.param_groups:
                group['lr'] = lr / 10
        log = model.train_step(train_batch, optim_wrapper)
        losses.append(float(log['loss'].detach()))
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(
                f'loss {losses[-1]} at step {step} of {cfg.filename}')
    train_s = time.perf_counter() - start

    model.eval()
    metric = DenseSIRSTMetric()
    metric.dataset_meta = meta
    with torch.no_grad():
        for sample in test_samples:
            outputs = model.test_step(pseudo_collate([sample]))
            metric.process({}, [output.to_dict() for output in outputs])
    figures = metric.compute_metrics(metric.results)
    tenth = max(1, iters // 10)
    return dict(
        coverage=coverage_of(model.bbox_head, [
            dict(data_samples=s) for s in train_batch['data_samples']
        ]),
        recall07=float(figures['recall07']),
        mAP07=float(figures['mAP07']),
        loss_first=losses[0],
        loss_last_tenth=float(np.mean(losses[-tenth:])),
        loss_previous_tenth=float(np.mean(losses[-2 * tenth:-tenth])),
        losses=losses,
        train_s=train_s)


def recall_ceiling(data_root: str = None,
                   split: str = 'Splits/train_v2.txt',
                   num_images: int = 6,
                   iters: int = 800,
                   width: int = 8,
                   lr: float = 1e-3,
                   shape=(512, 512),
                   crop: int = 128,
                   cfg_options: dict = None) -> dict:
    """Train and evaluate each model of ``CEILING_CONFIGS`` on the same
    images, and print the table.

    Args:
        data_root (str, optional): The SIRSTdevkit folder; None: the
            configs'.
        split (str): The split file the images come from.
        num_images (int): The first K images of the split.
        iters (int): Training steps (all K images in every step).
        width (int): ResNet-18 base channels; FPN and head get 4x.
        lr (float): AdamW's learning rate.
        shape (tuple[int, int]): Input (H, W) the images are resized to.
        crop (int): Window side the images are cut to (0: whole).
        cfg_options (dict, optional): Overrides of every config.

    Returns:
        dict: ``images``, ``boxes``, the settings and, per model name,
        ``coverage``, ``recall07``, ``mAP07``, the losses and ``train_s``.
    """
    height, width_px = shape
    configs = {
        name: narrowed_config(config, width, cfg_options, data_root)
        for name, config in CEILING_CONFIGS.items()
    }
    samples, meta = training_images(
        next(iter(configs.values())), split, num_images, (width_px, height),
        crop)
    train_batch = pseudo_collate(samples)
    size = tuple(samples[0]['inputs'].shape[-2:])
    num_boxes = sum(
        len(s.gt_instances) for s in train_batch['data_samples'])
    figures = dict(
        images=len(samples),
        boxes=num_boxes,
        resize=[height, width_px],
        crop=crop,
        iters=iters,
        width=width,
        lr=lr,
        threads=torch.get_num_threads(),
        models={})
    for name, cfg in configs.items():
        figures['models'][name] = train_and_evaluate(cfg, train_batch,
                                                     samples, meta, iters, lr)

    where = (f'{size[0]}x{size[1]} windows (the most whole targets) of '
             if crop else '')
    print(f'Trained and evaluated on the same {len(samples)} {where}images '
          f'of {split} resized to {height}x{width_px} ({num_boxes} '
          f'boxes), random initialisation, ResNet-18 of width {width} '
          f'(FPN and head {4 * width}), {iters} steps of batch '
          f'{len(samples)}, AdamW lr {lr:g} '
          f'({torch.get_num_threads()} threads)')
    print(f'{"model":<30}{"coverage":>9}{"recall07":>9}{"mAP07":>7}'
          f'{"loss first":>11}{"last 10%":>9}{"prev 10%":>9}{"train s":>8}')
    for name, row in figures['models'].items():
        print(f'{name:<30}{row["coverage"]:>9.3f}{row["recall07"]:>9.3f}'
              f'{row["mAP07"]:>7.3f}{row["loss_first"]:>11.3f}'
              f'{row["loss_last_tenth"]:>9.3f}'
              f'{row["loss_previous_tenth"]:>9.3f}{row["train_s"]:>8.0f}')
    print('coverage: boxes of these images with a positive location; loss '
          'last/prev 10%: mean total loss over the last and the previous '
          'tenth of the steps')
    return figures


def main():
    args = parse_args()
    register_all_modules()
    # Building models and optimizers logs every parameter; keep errors only.
    MMLogger.get_instance('recall_ceiling', log_level='ERROR')
    figures = recall_ceiling(args.data_root, args.split, args.num_images,
                             args.iters, args.width, args.lr,
                             tuple(args.shape), args.crop, args.cfg_options)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=1)


if __name__ == '__main__':
    main()

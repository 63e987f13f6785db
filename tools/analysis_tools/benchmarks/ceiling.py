"""``ceiling`` mode: does the recall ceiling of the assignment move, or only
its bookkeeping?

FCOS-R18 with the paper's assignment, and FCOS-R18 and BAFE-Net-R18 with
full coverage, each train on the same K real training images (all K in
every step, no augmentation) from random initialisation, and are evaluated
on those same images with ``DenseSIRSTMetric`` (VOC recall and mAP07 at IoU
0.5, original image coordinates, as ``tools/test.py``). Fitting the
training images is the easiest test there is: a detector whose assignment
gives a target no positive location cannot learn it even there, so the
paper assignment should stop near its coverage while full coverage should
find almost every target.

To fit a CPU, the networks are narrowed: ResNet-18 with ``--width`` base
channels instead of 64, and the FPN and head with 4x that many (256 at
full width); the depth, levels, assignment and losses are the configs'.
The optimiser is AdamW (``--lr``, no weight decay, gradients clipped at
norm 10) with the rate divided by 10 for the last fifth of ``--iters``;
BatchNorm sees the same K images in every step, so its running statistics
are those of the evaluated batch.
"""
import time

import numpy as np
import torch
from assigner_coverage import assigned_gts, padded_shape
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from bafenet.evaluation import DenseSIRSTMetric
from bafenet.registry import DATASETS, MODELS
from bafenet.utils import load_config

#: The detectors of the ceiling mode.
CEILING_CONFIGS = {
    'FCOS-R18 (paper assignment)':
    'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
    'FCOS-R18 full coverage':
    'configs/fcos/fcos-fullcov_r18_fpn_20e_densesirst.py',
    'BAFE-Net-R18 full coverage':
    'configs/bafenet/bafenet-fullcov_r18_fpn_20e_densesirst.py',
}
#: The images of the ceiling mode when ``--num-images`` is not given.
DEFAULT_IMAGES = 8


def narrowed_config(config: str, width: int, cfg_options=None):
    """``config`` with a ResNet of ``width`` base channels (64 in ResNet-18)
    and an FPN and head of ``4 * width`` channels, randomly initialised.

    Raises:
        ValueError: If ``width`` is not a positive multiple of 8 (the head's
            GroupNorm needs channels divisible by its groups).
    """
    if width <= 0 or width % 8:
        raise ValueError(f'--width {width}: must be a positive multiple of 8')
    cfg = load_config(config, cfg_options)
    model = cfg.model
    model.backbone.init_cfg = None
    model.backbone.base_channels = width
    expansion = 1 if model.backbone.depth in (18, 34) else 4
    model.neck.in_channels = [width * expansion * 2**i for i in range(4)]
    model.neck.out_channels = 4 * width
    model.bbox_head.in_channels = 4 * width
    model.bbox_head.feat_channels = 4 * width
    return cfg


def training_images(args, size):
    """The first K images of ``--split``: training samples (boxes after the
    resize) and evaluation samples (ground truth in original coordinates,
    loaded after the resize as in the test pipeline)."""
    common = dict(
        type='DenseSIRSTDataset',
        data_root=args.data_root,
        ann_file=args.split,
        indices=args.num_images or DEFAULT_IMAGES)
    train = DATASETS.build(
        dict(
            common,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadDetSegAnnotations'),
                dict(type='Resize', scale=size, keep_ratio=False),
                dict(type='PackDetInputs')
            ]))
    test = DATASETS.build(
        dict(
            common,
            test_mode=True,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=size, keep_ratio=False),
                dict(type='LoadDetSegAnnotations'),
                dict(
                    type='PackDetInputs',
                    meta_keys=('img_id', 'img_path', 'ori_shape',
                               'img_shape', 'scale_factor'))
            ]))
    return train, test


def coverage_of(head, samples) -> float:
    """Share of the boxes of ``samples`` with a positive location under the
    head's own assignment (``assigner_coverage.assigned_gts``)."""
    covered = total = 0
    for sample in samples:
        boxes = sample['data_samples'].gt_instances.bboxes.tensor
        if not len(boxes):
            continue
        shape = padded_shape(sample['data_samples'].img_shape, 32)
        covered += int(assigned_gts(head, shape, boxes).any(0).sum())
        total += len(boxes)
    return covered / max(total, 1)


def train_and_evaluate(cfg, train_batch, test_samples, meta, args) -> dict:
    """Train a model of ``cfg`` on ``train_batch`` for ``args.iters`` steps
    and evaluate it on ``test_samples``; losses every step, figures at the
    end."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.lr, weight_decay=0.0)
    optim_wrapper = OptimWrapper(optimizer, clip_grad=dict(max_norm=10.0))
    decay_at = int(0.8 * args.iters)
    losses = []
    start = time.perf_counter()
    for step in range(args.iters):
        if step == decay_at:
            for group in optimizer.param_groups:
                group['lr'] = args.lr / 10
        log = model.train_step(train_batch, optim_wrapper)
        losses.append(float(log['loss']))
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
    tenth = max(1, args.iters // 10)
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


def bench_ceiling(args) -> dict:
    height, width = args.shape
    train, test = training_images(args, (width, height))
    train_batch = pseudo_collate([train[i] for i in range(len(train))])
    test_samples = [test[i] for i in range(len(test))]
    num_boxes = sum(
        len(s.gt_instances) for s in train_batch['data_samples'])
    figures = dict(
        images=len(train),
        boxes=num_boxes,
        iters=args.iters,
        width=args.width,
        lr=args.lr,
        models={})
    for name, config in CEILING_CONFIGS.items():
        cfg = narrowed_config(config, args.width, args.cfg_options)
        figures['models'][name] = train_and_evaluate(cfg, train_batch,
                                                     test_samples,
                                                     train.metainfo, args)

    print(f'Trained and evaluated on the same {len(train)} images of '
          f'{args.split} ({num_boxes} boxes) at {height}x{width}, random '
          f'initialisation, ResNet-18 of width {args.width} (FPN and head '
          f'{4 * args.width}), {args.iters} steps of batch {len(train)}, '
          f'AdamW lr {args.lr:g} ({torch.get_num_threads()} threads)')
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

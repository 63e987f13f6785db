"""How many ground-truth boxes the head's target assignment can learn from.

    python tools/analysis_tools/assigner_coverage.py CONFIG \
        [--split train|test] [--data-root DIR] [--json FILE] \
        [--max-images N] [--variants NAME ... | all] [--cfg-options ...]

A ground-truth box that receives no positive location is never a
classification target, so a detector trained with that head can find it
only by accident: the fraction of boxes with at least one positive location
caps the recall it can reach. This tool measures that fraction per FPN level
and over all levels, with the head's own assignment rules, and the mean
number of positive locations per box.

``--variants`` also measures named assignment options of
``SyncFreeFCOSHead`` (``VARIANTS``: the FCOS rule, its center sampling,
a stride-4 level P2, the unclipped radius rule, the nearest-point
fallback, and their combinations) on the same boxes, each applied to the
config's head in place of its own assignment options, one row each.

The dataset is the config's training dataset (``--split train``, its split
file and data root) or its test dataset (``--split test``). Every sample
goes through the training pipeline up to and including its resize, so the
boxes have the size the head sees; the transforms after the resize are left
out: a horizontal flip maps the point grid onto itself whenever the padded
width is a multiple of the strides (512 with strides 8/16/32), so it does
not change the count, and copy-paste adds targets that are not the
dataset's. Boxes flagged ``ignore`` are left out like ``PackDetInputs``
leaves them out of training.

The head is built from ``model.bbox_head``; its ``prior_generator`` makes
the points of the image padded as ``model.data_preprocessor`` pads it
(``pad_size_divisor``), and its own ``get_targets(points,
batch_gt_instances)`` assigns them, so regress ranges, center sampling and
the smallest-area rule for points inside several boxes all apply. The box
each positive point was assigned to is recovered by decoding its regression
target (``(l, t, r, b)``, times the stride with ``norm_on_bbox``) back to a
box. Heads of the FCOS family (``FCOSHead`` and its subclasses) are
supported; other heads raise a ``TypeError``. Positives outside their box
(fallback, radius rule) decode back to their box all the same.
"""
import argparse
import json
import math

import numpy as np
import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.structures.bbox import get_box_tensor
from mmengine.config import Config, DictAction
from mmengine.structures import InstanceData

from bafenet.models.dense_heads import SyncFreeFCOSHead
from bafenet.registry import DATASETS, MODELS
from bafenet.utils import (innermost_dataset_cfg, load_config,
                           register_all_modules)


#: FPN levels P3-P5, as the paper's configs.
P3_P5 = dict(
    strides=[8, 16, 32], regress_ranges=((-1, 64), (64, 128), (128, 256)))
#: FPN levels P2-P5, as the full-coverage configs.
P2_P5 = dict(
    strides=[4, 8, 16, 32],
    regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256)))
#: FCOS's own rule: positive inside the box only.
FCOS_RULE = dict(
    center_sampling=False,
    center_sampling_clip=True,
    fallback_points=0,
    box_encoding='ltrb',
    centerness_type='fcos')
#: What positives outside their box need.
OUTSIDE = dict(box_encoding='offset_size', centerness_type='gaussian')
FCOS_CENTER = dict(FCOS_RULE, center_sampling=True, center_sample_radius=1.5)
RADIUS = dict(
    FCOS_RULE,
    center_sampling=True,
    center_sample_radius=1.5,
    center_sampling_clip=False,
    **OUTSIDE)
FALLBACK = dict(FCOS_RULE, fallback_points=1, fallback_rounds=4, **OUTSIDE)
#: Assignment options measured by ``--variants``, applied to the head.
VARIANTS = {
    'fcos': dict(P3_P5, **FCOS_RULE),
    'fcos-center-sampling': dict(P3_P5, **FCOS_CENTER),
    'p2': dict(P2_P5, **FCOS_RULE),
    'radius': dict(P3_P5, **RADIUS),
    'p2-radius': dict(P2_P5, **RADIUS),
    'fallback': dict(P3_P5, **FALLBACK),
    'fallback-1round': dict(P3_P5, **dict(FALLBACK, fallback_rounds=1)),
    'p2-fallback': dict(P2_P5, **FALLBACK),
    'p2-fallback-k3': dict(P2_P5, **dict(FALLBACK, fallback_points=3)),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument(
        '--split',
        choices=['train', 'test'],
        default='train',
        help='the dataset of train_dataloader or of test_dataloader')
    parser.add_argument('--data-root', help='SIRSTdevkit folder')
    parser.add_argument('--max-images',
                        type=int,
                        help='only the first N images')
    parser.add_argument('--json', help='also write the figures here')
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=sorted(VARIANTS) + ['all'],
        default=[],
        help='also measure these assignment options on the same boxes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def pipeline_to_resize(pipeline: list) -> list:
    """The transforms of ``pipeline`` up to and including its first resize.

    Raises:
        ValueError: If the pipeline has no transform named ``*Resize``.
    """
    for index, transform in enumerate(pipeline):
        if transform['type'].split('.')[-1].endswith('Resize'):
            return list(pipeline[:index + 1])
    raise ValueError('the training pipeline has no resize transform: '
                     f'{[t["type"] for t in pipeline]}')


def build_dataset(cfg: Config, split: str):
    """The split's dataset with the training pipeline cut after the resize.

    The ground truth of the test pipeline is loaded after its resize (in
    original image coordinates, where predictions are evaluated), so both
    splits use the training pipeline to get boxes at the network's scale.
    """
    train_cfg = innermost_dataset_cfg(cfg.train_dataloader.dataset)
    dataset_cfg = innermost_dataset_cfg(
        cfg[f'{split}_dataloader'].dataset).copy()
    dataset_cfg.pipeline = pipeline_to_resize(train_cfg.pipeline)
    dataset_cfg.test_mode = False
    dataset_cfg.pop('filter_cfg', None)
    return DATASETS.build(dataset_cfg)


def build_head(cfg: Config, options: dict = None) -> FCOSHead:
    """``model.bbox_head`` of the config, checked to be FCOS-like, with
    ``options`` (head arguments) replacing its own.

    Raises:
        TypeError: If the head does not assign targets the FCOS way.
    """
    head_cfg = cfg.model.bbox_head
    if options and MODELS.get(head_cfg.type) is not None and not issubclass(
            MODELS.get(head_cfg.type), SyncFreeFCOSHead):
        raise TypeError(
            f'{head_cfg.type} (model.bbox_head) has no full-coverage '
            'options: --variants needs SyncFreeFCOSHead or a subclass')
    head = MODELS.build(dict(head_cfg, **(options or {})))
    if not isinstance(head, FCOSHead):
        raise TypeError(
            f'{type(head).__name__} (model.bbox_head) is not supported: '
            'assigner_coverage.py runs the get_targets(points, '
            'batch_gt_instances) of FCOSHead and its subclasses')
    return head


def padded_shape(img_shape: tuple, pad_size_divisor: int) -> tuple:
    """(H, W) of an image padded by the data preprocessor."""
    return tuple(
        int(math.ceil(s / pad_size_divisor)) * pad_size_divisor
        for s in img_shape[:2])


def assigned_gts(head: FCOSHead, img_shape: tuple,
                 gt_bboxes: torch.Tensor) -> np.ndarray:
    """Which ground-truth boxes get a positive location on each level (see
    :func:`positives_per_gt`)."""
    return positives_per_gt(head, img_shape, gt_bboxes) > 0


def positives_per_gt(head: FCOSHead, img_shape: tuple,
                     gt_bboxes: torch.Tensor) -> np.ndarray:
    """How many positive locations each ground-truth box gets on each level.

    Args:
        head (FCOSHead): The head whose rules assign the points.
        img_shape (tuple): (H, W) of the padded network input.
        gt_bboxes (torch.Tensor): (G, 4) boxes ``x1, y1, x2, y2`` in input
            pixels.

    Returns:
        np.ndarray: (L, G) int, the positive points of box g on level l.

    Raises:
        RuntimeError: If a positive point decodes to no ground-truth box.
    """
    featmap_sizes = [(math.ceil(img_shape[0] / s), math.ceil(img_shape[1] / s))
                     for s in head.strides]
    points = head.prior_generator.grid_priors(featmap_sizes,
                                              dtype=gt_bboxes.dtype,
                                              device=gt_bboxes.device)
    gt = InstanceData(bboxes=gt_bboxes,
                      labels=torch.zeros(len(gt_bboxes), dtype=torch.long))
    labels, bbox_targets = head.get_targets(points, [gt])
    counts = np.zeros((len(points), len(gt_bboxes)), dtype=int)
    for level, (level_points, level_labels, targets, stride) in enumerate(
            zip(points, labels, bbox_targets, head.strides)):
        positive = level_labels < head.num_classes
        if not positive.any():
            continue
        targets = targets[positive]
        if head.norm_on_bbox:
            targets = targets * stride
        centres = level_points[positive][:, :2]
        decoded = torch.cat(
            [centres - targets[:, :2], centres + targets[:, 2:]], dim=1)
        error = (decoded[:, None] - gt_bboxes[None]).abs().amax(dim=2)
        min_error, index = error.min(dim=1)
        if (min_error > 1e-3).any():
            raise RuntimeError(
                'a positive point decodes to no ground-truth box: '
                f'{type(head).__name__}.get_targets does not return FCOS '
                '(l, t, r, b) distances')
        counts[level] = np.bincount(index.numpy(), minlength=len(gt_bboxes))
    return counts


def coverage(heads: dict,
             dataset,
             pad_size_divisor: int,
             max_images: int = None) -> dict:
    """Per-level and overall fraction of boxes with a positive location, and
    positives per box, for each head on the same boxes.

    Args:
        heads (dict[str, FCOSHead]): Heads whose rules assign the points,
            by name.
        dataset: Samples with ``img_shape``, ``gt_bboxes`` and
            ``gt_ignore_flags`` (the pipeline up to the resize).
        pad_size_divisor (int): The data preprocessor's padding.
        max_images (int, optional): Only the first images.

    Returns:
        dict: ``images``, ``boxes``, ``median_box`` ((w, h) after the
        resize) and ``heads``: per head name, ``levels`` (one dict per level:
        ``stride``, ``regress_range``, ``covered`` count and ``fraction``),
        ``any`` (``covered``, ``fraction``: boxes positive on at least one
        level) and ``positives_per_box`` (``mean`` over all boxes,
        ``mean_covered`` over the covered ones, ``max``).
    """
    num_images = len(dataset) if max_images is None else min(
        max_images, len(dataset))
    counts = {name: [] for name in heads}
    sizes = []
    for index in range(num_images):
        results = dataset[index]
        keep = ~torch.as_tensor(results['gt_ignore_flags'], dtype=torch.bool)
        boxes = get_box_tensor(results['gt_bboxes'])
        boxes = torch.as_tensor(boxes, dtype=torch.float32)[keep]
        if not len(boxes):
            continue
        shape = padded_shape(results['img_shape'], pad_size_divisor)
        for name, head in heads.items():
            counts[name].append(positives_per_gt(head, shape, boxes))
        sizes.append((boxes[:, 2:] - boxes[:, :2]).numpy())
    sizes = np.concatenate(sizes)
    num_boxes = len(sizes)
    rows = {}
    for name, head in heads.items():
        per_box = np.concatenate(counts[name], axis=1)  # (L, boxes)
        per_level = (per_box > 0).sum(axis=1)
        total = per_box.sum(axis=0)
        any_level = int((total > 0).sum())
        rows[name] = dict(
            levels=[
                dict(stride=int(stride),
                     regress_range=list(head.regress_ranges[level]),
                     covered=int(per_level[level]),
                     fraction=float(per_level[level] / num_boxes))
                for level, stride in enumerate(head.strides)
            ],
            any=dict(covered=any_level, fraction=any_level / num_boxes),
            positives_per_box=dict(
                mean=float(total.mean()),
                mean_covered=float(total[total > 0].mean())
                if any_level else 0.0,
                max=int(total.max())))
    return dict(images=num_images,
                boxes=num_boxes,
                median_box=np.median(sizes, axis=0).tolist(),
                heads=rows)


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    names = sorted(VARIANTS) if 'all' in args.variants else args.variants
    heads = dict(config=build_head(cfg))
    heads.update((name, build_head(cfg, VARIANTS[name])) for name in names)
    dataset = build_dataset(cfg, args.split)
    pad = cfg.model.data_preprocessor.get('pad_size_divisor', 1)
    figures = coverage(heads, dataset, pad, args.max_images)
    rows = figures.pop('heads')
    head = heads['config']
    # the config's head at the top level, the variants under their names
    result = dict(figures,
                  **rows['config'],
                  config=args.config,
                  split=args.split,
                  ann_file=dataset.ann_file,
                  head=type(head).__name__,
                  center_sampling=bool(head.center_sampling),
                  variants={
                      name: dict(options=VARIANTS[name], **rows[name])
                      for name in names
                  })

    print(f'{args.config}: {type(head).__name__} on {dataset.ann_file}, '
          f'{result["images"]} images, {result["boxes"]} boxes (median '
          f'{result["median_box"][0]:.1f}x{result["median_box"][1]:.1f} px '
          'after the resize)')
    print('| level | stride | regress range | boxes with a positive point '
          '| fraction |')
    print('|---|---|---|---|---|')
    config = rows['config']
    for row in config['levels']:
        lo, hi = row['regress_range']
        level = int(math.log2(row['stride']))
        print(f'| P{level} | {row["stride"]} | ({lo:g}, {hi:g}) | '
              f'{row["covered"]} | {row["fraction"]:.1%} |')
    print(f'| any | | | {config["any"]["covered"]} | '
          f'{config["any"]["fraction"]:.1%} |')
    print(f'positives per box: {config["positives_per_box"]["mean"]:.2f} '
          f'(covered boxes: {config["positives_per_box"]["mean_covered"]:.2f}'
          f', max {config["positives_per_box"]["max"]})')
    if names:
        print()
        print('| assignment | strides | boxes with a positive point | '
              'fraction | positives per box | per covered box | max |')
        print('|---|---|---|---|---|---|---|')
        for name in ['config'] + names:
            row = rows[name]
            strides = '/'.join(str(s) for s in heads[name].strides)
            ppb = row['positives_per_box']
            print(f'| {name} | {strides} | {row["any"]["covered"]} | '
                  f'{row["any"]["fraction"]:.1%} | {ppb["mean"]:.2f} | '
                  f'{ppb["mean_covered"]:.2f} | {ppb["max"]} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()

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

``--variants`` also measures named assignments (``VARIANTS``: the FCOS
rule, its center sampling, a stride-4 level P2, the unclipped radius rule,
the nearest-point fallback, and their combinations: FPN levels and an
:class:`~bafenet.models.task_modules.FCOSPointAssigner`) on the same boxes,
one row each.

The dataset is the config's training dataset (``--split train``, its split
file and data root) or its test dataset (``--split test``). Every sample
goes through the training pipeline up to and including its resize, so the
boxes have the size the head sees; the transforms after the resize are left
out: a horizontal flip maps the point grid onto itself whenever the padded
width is a multiple of the strides (512 with strides 8/16/32), so it does
not change the count, and copy-paste adds targets that are not the
dataset's. Boxes flagged ``ignore`` are left out like ``PackDetInputs``
leaves them out of training.

The head is built from ``model.bbox_head``; the points are those of the
image padded as ``model.data_preprocessor`` pads it
(``pad_size_divisor``), and the head's own assigner assigns them
(:func:`~bafenet.models.task_modules.positives_per_gt`), so regress
ranges, center sampling and the smallest-area rule for points inside
several boxes all apply, and each positive point names its box. Heads of
the FCOS family (``FCOSHead`` and its subclasses) are supported; other
heads raise a ``TypeError``.
"""
import argparse
import json
import math

import numpy as np
import torch
from mmdet.structures.bbox import get_box_tensor
from mmengine.config import Config, DictAction

from bafenet.models.task_modules import (head_assignment, padded_shape,
                                         positives_per_gt)
from bafenet.registry import DATASETS, MODELS, TASK_UTILS
from bafenet.utils import (innermost_dataset_cfg, load_config,
                           register_all_modules)

#: FPN levels P3-P5, as the paper's configs.
P3_P5 = dict(
    strides=[8, 16, 32], regress_ranges=[[-1, 64], [64, 128], [128, 256]])
#: FPN levels P2-P5, as the full-coverage configs.
P2_P5 = dict(
    strides=[4, 8, 16, 32],
    regress_ranges=[[-1, 32], [32, 64], [64, 128], [128, 256]])
#: FCOS's own rule: positive inside the box only.
FCOS_RULE = dict(type='FCOSPointAssigner')
FCOS_CENTER = dict(FCOS_RULE, center_sampling=True, center_sample_radius=1.5)
RADIUS = dict(FCOS_CENTER, center_sampling_clip=False)
FALLBACK = dict(FCOS_RULE, fallback_points=1, fallback_rounds=4)
#: Assignments measured by ``--variants``: FPN levels and an assigner.
VARIANTS = {
    'fcos': dict(P3_P5, assigner=FCOS_RULE),
    'fcos-center-sampling': dict(P3_P5, assigner=FCOS_CENTER),
    'p2': dict(P2_P5, assigner=FCOS_RULE),
    'radius': dict(P3_P5, assigner=RADIUS),
    'p2-radius': dict(P2_P5, assigner=RADIUS),
    'fallback': dict(P3_P5, assigner=FALLBACK),
    'fallback-1round': dict(P3_P5, assigner=dict(FALLBACK, fallback_rounds=1)),
    'p2-fallback': dict(P2_P5, assigner=FALLBACK),
    'p2-fallback-k3': dict(P2_P5, assigner=dict(FALLBACK, fallback_points=3)),
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


def config_assignment(cfg: Config) -> dict:
    """The levels and assigner of the config's ``model.bbox_head``.

    Returns:
        dict: ``strides``, ``regress_ranges`` and ``assigner``
        (:class:`FCOSPointAssigner`), as the variants.

    Raises:
        TypeError: If the head does not assign targets the FCOS way.
    """
    head = MODELS.build(dict(cfg.model.bbox_head,
                             train_cfg=cfg.model.get('train_cfg')))
    assigner, strides, regress_ranges = head_assignment(head)
    return dict(strides=strides, regress_ranges=regress_ranges,
                assigner=assigner)


def variant_assignment(name: str) -> dict:
    """The levels and built assigner of ``VARIANTS[name]``."""
    variant = VARIANTS[name]
    return dict(variant, assigner=TASK_UTILS.build(variant['assigner']))


def coverage(assignments: dict,
             dataset,
             pad_size_divisor: int,
             max_images: int = None) -> dict:
    """Per-level and overall fraction of boxes with a positive location, and
    positives per box, for each assignment on the same boxes.

    Args:
        assignments (dict[str, dict]): By name, ``strides``,
            ``regress_ranges`` and ``assigner`` (:class:`FCOSPointAssigner`).
        dataset: Samples with ``img_shape``, ``gt_bboxes`` and
            ``gt_ignore_flags`` (the pipeline up to the resize).
        pad_size_divisor (int): The data preprocessor's padding.
        max_images (int, optional): Only the first images.

    Returns:
        dict: ``images``, ``boxes``, ``median_box`` ((w, h) after the
        resize) and ``assignments``: per name, ``levels`` (one dict per level:
        ``stride``, ``regress_range``, ``covered`` count and ``fraction``),
        ``any`` (``covered``, ``fraction``: boxes positive on at least one
        level) and ``positives_per_box`` (``mean`` over all boxes,
        ``mean_covered`` over the covered ones, ``max``).
    """
    num_images = len(dataset) if max_images is None else min(
        max_images, len(dataset))
    counts = {name: [] for name in assignments}
    sizes = []
    for index in range(num_images):
        results = dataset[index]
        keep = ~torch.as_tensor(results['gt_ignore_flags'], dtype=torch.bool)
        boxes = get_box_tensor(results['gt_bboxes'])
        boxes = torch.as_tensor(boxes, dtype=torch.float32)[keep]
        if not len(boxes):
            continue
        shape = padded_shape(results['img_shape'], pad_size_divisor)
        for name, assignment in assignments.items():
            counts[name].append(
                positives_per_gt(assignment['assigner'],
                                 assignment['strides'],
                                 assignment['regress_ranges'], shape, boxes))
        sizes.append((boxes[:, 2:] - boxes[:, :2]).numpy())
    sizes = np.concatenate(sizes)
    num_boxes = len(sizes)
    rows = {}
    for name, assignment in assignments.items():
        per_box = np.concatenate(counts[name], axis=1)  # (L, boxes)
        per_level = (per_box > 0).sum(axis=1)
        total = per_box.sum(axis=0)
        any_level = int((total > 0).sum())
        rows[name] = dict(
            levels=[
                dict(stride=int(stride),
                     regress_range=list(
                         assignment['regress_ranges'][level]),
                     covered=int(per_level[level]),
                     fraction=float(per_level[level] / num_boxes))
                for level, stride in enumerate(assignment['strides'])
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
                assignments=rows)


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    names = sorted(VARIANTS) if 'all' in args.variants else args.variants
    assignments = dict(config=config_assignment(cfg))
    assignments.update((name, variant_assignment(name)) for name in names)
    dataset = build_dataset(cfg, args.split)
    pad = cfg.model.data_preprocessor.get('pad_size_divisor', 1)
    figures = coverage(assignments, dataset, pad, args.max_images)
    rows = figures.pop('assignments')
    head = cfg.model.bbox_head.type
    assigner = assignments['config']['assigner']
    # the config's head at the top level, the variants under their names
    result = dict(figures,
                  **rows['config'],
                  config=args.config,
                  split=args.split,
                  ann_file=dataset.ann_file,
                  head=head,
                  center_sampling=bool(assigner.center_sampling),
                  variants={
                      name: dict(options=VARIANTS[name], **rows[name])
                      for name in names
                  })

    print(f'{args.config}: {head} on {dataset.ann_file}, '
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
            strides = '/'.join(str(s) for s in assignments[name]['strides'])
            ppb = row['positives_per_box']
            print(f'| {name} | {strides} | {row["any"]["covered"]} | '
                  f'{row["any"]["fraction"]:.1%} | {ppb["mean"]:.2f} | '
                  f'{ppb["mean_covered"]:.2f} | {ppb["max"]} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()

"""How many ground-truth boxes the head's target assignment can learn from.

    python tools/analysis_tools/assigner_coverage.py CONFIG \
        [--split train|test] [--data-root DIR] [--json FILE] \
        [--max-images N] [--cfg-options ...]

A ground-truth box that receives no positive location is never a
classification target, so a detector trained with that head can find it
only by accident: the fraction of boxes with at least one positive location
caps the recall it can reach. This tool measures that fraction per FPN level
and over all levels, with the head's own assignment rules.

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
supported; other heads raise a ``TypeError``.
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

from bafenet.registry import DATASETS, MODELS
from bafenet.utils import (innermost_dataset_cfg, load_config,
                           register_all_modules)


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


def build_head(cfg: Config) -> FCOSHead:
    """``model.bbox_head`` of the config, checked to be FCOS-like.

    Raises:
        TypeError: If the head does not assign targets the FCOS way.
    """
    head = MODELS.build(cfg.model.bbox_head)
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
    """Which ground-truth boxes get a positive location on each level.

    Args:
        head (FCOSHead): The head whose rules assign the points.
        img_shape (tuple): (H, W) of the padded network input.
        gt_bboxes (torch.Tensor): (G, 4) boxes ``x1, y1, x2, y2`` in input
            pixels.

    Returns:
        np.ndarray: (L, G) bool, True where box g has at least one positive
        point on level l.

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
    covered = np.zeros((len(points), len(gt_bboxes)), dtype=bool)
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
        covered[level, index.numpy()] = True
    return covered


def coverage(head: FCOSHead,
             dataset,
             pad_size_divisor: int,
             max_images: int = None) -> dict:
    """Per-level and overall fraction of boxes with a positive location.

    Args:
        head (FCOSHead): The head whose rules assign the points.
        dataset: Samples with ``img_shape``, ``gt_bboxes`` and
            ``gt_ignore_flags`` (the pipeline up to the resize).
        pad_size_divisor (int): The data preprocessor's padding.
        max_images (int, optional): Only the first images.

    Returns:
        dict: ``images``, ``boxes``, ``median_box`` ((w, h) after the
        resize), ``levels`` (one dict per level: ``stride``,
        ``regress_range``, ``covered`` count and ``fraction``) and ``any``
        (``covered``, ``fraction``: boxes positive on at least one level).
    """
    num_images = len(dataset) if max_images is None else min(
        max_images, len(dataset))
    per_level, sizes = np.zeros(len(head.strides), dtype=int), []
    any_level = 0
    for index in range(num_images):
        results = dataset[index]
        keep = ~torch.as_tensor(results['gt_ignore_flags'], dtype=torch.bool)
        boxes = get_box_tensor(results['gt_bboxes'])
        boxes = torch.as_tensor(boxes, dtype=torch.float32)[keep]
        if not len(boxes):
            continue
        covered = assigned_gts(
            head, padded_shape(results['img_shape'], pad_size_divisor), boxes)
        per_level += covered.sum(axis=1)
        any_level += int(covered.any(axis=0).sum())
        sizes.append((boxes[:, 2:] - boxes[:, :2]).numpy())
    sizes = np.concatenate(sizes)
    num_boxes = len(sizes)
    return dict(images=num_images,
                boxes=num_boxes,
                median_box=np.median(sizes, axis=0).tolist(),
                levels=[
                    dict(stride=int(stride),
                         regress_range=list(head.regress_ranges[level]),
                         covered=int(per_level[level]),
                         fraction=float(per_level[level] / num_boxes))
                    for level, stride in enumerate(head.strides)
                ],
                any=dict(covered=any_level, fraction=any_level / num_boxes))


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    head = build_head(cfg)
    dataset = build_dataset(cfg, args.split)
    pad = cfg.model.data_preprocessor.get('pad_size_divisor', 1)
    result = coverage(head, dataset, pad, args.max_images)
    result.update(config=args.config,
                  split=args.split,
                  ann_file=dataset.ann_file,
                  head=type(head).__name__,
                  center_sampling=bool(head.center_sampling))

    print(f'{args.config}: {type(head).__name__} on {dataset.ann_file}, '
          f'{result["images"]} images, {result["boxes"]} boxes (median '
          f'{result["median_box"][0]:.1f}x{result["median_box"][1]:.1f} px '
          'after the resize)')
    print('| level | stride | regress range | boxes with a positive point '
          '| fraction |')
    print('|---|---|---|---|---|')
    for row in result['levels']:
        lo, hi = row['regress_range']
        level = int(math.log2(row['stride']))
        print(f'| P{level} | {row["stride"]} | ({lo:g}, {hi:g}) | '
              f'{row["covered"]} | {row["fraction"]:.1%} |')
    print(f'| any | | | {result["any"]["covered"]} | '
          f'{result["any"]["fraction"]:.1%} |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()

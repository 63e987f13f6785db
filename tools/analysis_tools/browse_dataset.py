"""Pictures of training samples after the whole training pipeline.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR \
        [--data-root DIR] [--num 8] [--zoom 2]

Each picture shows the image the model sees, its ground-truth boxes (targets
pasted by copy-paste in their own colour) and the sky map as a translucent
overlay.
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import DictAction

from bafenet.registry import DATASETS, VISUALIZERS
from bafenet.utils import load_config, register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--data-root', help='SIRSTdevkit folder')
    parser.add_argument('--num', type=int, default=8, help='samples drawn')
    parser.add_argument(
        '--zoom', type=int, default=1, help='integer upscaling of pictures')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def keep_paste_count(pipeline: list) -> None:
    """Make PackDetInputs carry ``bag_cp_num_pasted`` into the metainfo."""
    for transform in pipeline:
        if transform['type'] == 'PackDetInputs':
            keys = transform.get(
                'meta_keys', ('img_id', 'img_path', 'ori_shape', 'img_shape',
                              'scale_factor', 'flip', 'flip_direction'))
            transform['meta_keys'] = tuple(keys) + ('bag_cp_num_pasted', )


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    dataset_cfg = cfg.train_dataloader.dataset
    keep_paste_count(dataset_cfg.get('pipeline', []))
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    dataset = DATASETS.build(dataset_cfg)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    os.makedirs(args.output_dir, exist_ok=True)

    for index in range(min(args.num, len(dataset))):
        item = dataset[index]
        sample = item['data_samples']
        image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # RGB
        if args.zoom > 1:
            image = cv2.resize(
                image, None, fx=args.zoom, fy=args.zoom,
                interpolation=cv2.INTER_NEAREST)
            sample.gt_instances.bboxes = sample.gt_instances.bboxes * \
                args.zoom
            seg = sample.gt_sem_seg.sem_seg
            sample.gt_sem_seg.sem_seg = torch.nn.functional.interpolate(
                seg[None].float(), scale_factor=args.zoom,
                mode='nearest')[0].to(seg.dtype)
        num_pasted = sample.metainfo.get('bag_cp_num_pasted', 0)
        pasted = torch.zeros(len(sample.gt_instances), dtype=torch.bool)
        if num_pasted:
            pasted[-num_pasted:] = True
        sample.gt_instances.pasted = pasted
        name = f'{index:04d}_{osp.splitext(osp.basename(sample.img_path))[0]}'
        visualizer.add_datasample(
            name,
            np.ascontiguousarray(image),
            sample,
            draw_pred=False,
            out_file=osp.join(args.output_dir, name + '.png'))
        print(f'{name}: {len(pasted) - num_pasted} boxes, {num_pasted} '
              'pasted')


if __name__ == '__main__':
    main()

"""Statistics of a dataset in the DenseSIRST layout, as a table.

    python tools/analysis_tools/dataset_stats.py DATA_ROOT \
        [--split train_v2 val_v2 trainval_v2 test_v2]

Only annotations are read (``check_images=False``), so splits whose images
are not all present still count. Box sizes are inclusive VOC widths at the
original resolution; "in sky" is the fraction of box pixels whose sky-map
value is 1.
"""
import argparse
import collections

import numpy as np
from PIL import Image

from bafenet.datasets import DenseSIRSTDataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the SIRSTdevkit folder')
    parser.add_argument(
        '--split',
        nargs='+',
        default=['train_v2', 'val_v2', 'trainval_v2', 'test_v2'])
    return parser.parse_args()


def split_stats(data_root: str, split: str) -> dict:
    dataset = DenseSIRSTDataset(
        data_root=data_root,
        ann_file=f'Splits/{split}.txt',
        pipeline=[],
        check_images=False)
    per_image = np.array([len(d['instances']) for d in dataset])
    boxes = np.array([i['bbox'] for d in dataset for i in d['instances']])
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    sky_fraction, in_sky, in_sky_total = [], 0, 0
    for info in dataset:
        with Image.open(info['seg_map_path']) as seg:
            sky = np.asarray(seg) == 1
        sky_fraction.append(sky.mean())
        for inst in info['instances']:
            x1, y1, x2, y2 = (int(v) for v in inst['bbox'])
            in_sky += sky[y1:y2 + 1, x1:x2 + 1].sum()
            in_sky_total += (y2 - y1 + 1) * (x2 - x1 + 1)
    sky_fraction = np.array(sky_fraction)
    sizes = collections.Counter((d['width'], d['height']) for d in dataset)
    return dict(
        images=len(dataset),
        boxes=len(boxes),
        per_image=(per_image.min(), per_image.max(), per_image.mean(),
                   np.median(per_image)),
        median_box=(np.median(w), np.median(h)),
        small=np.mean((w <= 5) & (h <= 5)),
        large=int(np.sum((w >= 10) | (h >= 10))),
        sky=(sky_fraction.mean(), np.median(sky_fraction)),
        no_sky=int(np.sum(sky_fraction == 0)),
        all_sky=int(np.sum(sky_fraction == 1)),
        in_sky=in_sky / in_sky_total,
        sizes=sizes.most_common(4))


def main():
    args = parse_args()
    print('| split | images | boxes | boxes / image (min-max, mean, median) '
          '| median box | boxes <= 5x5 px | boxes >= 10 px | mean sky '
          'fraction (median) | frames without sky / all sky | box pixels '
          'in sky | most common sizes |')
    print('|' + '---|' * 11)
    for split in args.split:
        s = split_stats(args.data_root, split)
        lo, hi, mean, median = s['per_image']
        sizes = ', '.join(f'{w}x{h} ({n})' for (w, h), n in s['sizes'])
        print(f'| {split} | {s["images"]} | {s["boxes"]:,} | {lo}-{hi}, '
              f'{mean:.2f}, {median:.0f} | {s["median_box"][0]:.0f}x'
              f'{s["median_box"][1]:.0f} | {s["small"]:.1%} | {s["large"]} '
              f'| {s["sky"][0]:.3f} ({s["sky"][1]:.3f}) | {s["no_sky"]} / '
              f'{s["all_sky"]} | {s["in_sky"]:.1%} | {sizes} |')


if __name__ == '__main__':
    main()

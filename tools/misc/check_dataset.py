"""Check a dataset in the DenseSIRST layout and list every problem at once.

``python tools/misc/check_dataset.py DATA_ROOT [--split train_v2 test_v2]``

Runs the validator that ``DenseSIRSTDataset`` runs when it is built
(:class:`bafenet.datasets.DenseSIRSTValidator`) on each split, then lists
the image, annotation and sky-map files whose id is in no split file of
``Splits/``. Prints one ``<file>: <problem>`` line per problem and a count
per split; the exit code is 1 if there is any problem, else 0.
"""
import argparse
import glob
import os.path as osp
import sys
from typing import List

from bafenet.datasets import DenseSIRSTDataset, DenseSIRSTValidator


def parse_args():
    parser = argparse.ArgumentParser(
        description='Check a dataset in the DenseSIRST layout')
    parser.add_argument('data_root', help='the SIRSTdevkit folder')
    parser.add_argument(
        '--split',
        nargs='+',
        help='split names (files Splits/<name>.txt) to check; default: all '
        'split files')
    parser.add_argument(
        '--img-dir', default='PNGImages', help='image folder')
    parser.add_argument(
        '--ann-dir', default='SIRST/BBox', help='folder of the box XMLs')
    parser.add_argument(
        '--seg-dir', default='SkySeg/PaletteMask', help='sky map folder')
    parser.add_argument(
        '--split-dir', default='Splits', help='folder of the split files')
    parser.add_argument(
        '--allow-missing-seg',
        action='store_true',
        help='accept images without a sky map')
    return parser.parse_args()


def check_dataset(data_root: str,
                  splits: List[str],
                  img_dir: str = 'PNGImages',
                  ann_dir: str = 'SIRST/BBox',
                  seg_dir: str = 'SkySeg/PaletteMask',
                  split_dir: str = 'Splits',
                  allow_missing_seg: bool = False) -> int:
    """Print the problems of a dataset, per split and then unlisted files.

    Args:
        data_root (str): The dataset folder.
        splits (list[str]): Split names; empty for every split file.
        img_dir (str): Image folder under ``data_root``.
        ann_dir (str): Box XML folder under ``data_root``.
        seg_dir (str): Sky map folder under ``data_root``.
        split_dir (str): Split file folder under ``data_root``.
        allow_missing_seg (bool): Accept images without a sky map.

    Returns:
        int: The number of problems.
    """
    meta = DenseSIRSTDataset.METAINFO
    validator = DenseSIRSTValidator(
        img_dir=osp.join(data_root, img_dir),
        ann_dir=osp.join(data_root, ann_dir),
        seg_dir=osp.join(data_root, seg_dir),
        classes=meta['classes'],
        num_seg_classes=len(meta['seg_classes']),
        allow_missing_seg=allow_missing_seg)
    all_splits = sorted(glob.glob(osp.join(data_root, split_dir, '*.txt')))
    split_files = ([osp.join(data_root, split_dir, f'{name}.txt')
                    for name in splits] if splits else all_splits)
    print(f'Checking {data_root}: {len(split_files)} split(s)')
    total = 0
    for split_file in split_files:
        data_list, problems = validator.check_split(split_file)
        for problem in problems:
            print(problem)
        print(f'{split_file}: {len(data_list)} valid sample(s), '
              f'{len(problems)} problem(s)')
        total += len(problems)
    problems = validator.check_unlisted(all_splits)
    for problem in problems:
        print(problem)
    print(f'files in no split of {osp.join(data_root, split_dir)}: '
          f'{len(problems)}')
    total += len(problems)
    print(f'{total} problem(s) in total')
    return total


def main():
    args = parse_args()
    problems = check_dataset(args.data_root, args.split or [], args.img_dir,
                             args.ann_dir, args.seg_dir, args.split_dir,
                             args.allow_missing_seg)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()

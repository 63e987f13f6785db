"""Check a dataset in the DenseSIRST layout and list every problem at once.

``python tools/misc/check_dataset.py DATA_ROOT [--split train_v2 test_v2]``

Runs the validator that ``DenseSIRSTDataset`` runs when it is built
(:class:`bafenet.datasets.DenseSIRSTValidator`) on each split, then lists
the image, annotation, sky-map and mask files whose id is in no split file
of ``Splits/``. Every image is decoded in full (Pillow and OpenCV), so a
truncated or corrupt file is found here, not in the middle of a training.
Prints one ``<file>: <problem>`` line per problem, a count per split, how
many target masks were read by the threshold (``--mask-dir``), and the time
the check took; the exit code is 1 if there is any problem, else 0.

Mask-annotated datasets (``MaskSIRSTDataset``) are checked with their
folders, e.g. IRSTD-1k in BasicIRSTD's layout::

    python tools/misc/check_dataset.py data/IRSTD-1K --split-dir img_idx \\
        --img-dir images --mask-dir masks --boxes-from mask \\
        --allow-missing-seg

A folder that is not a dataset in this layout at all (no split file, no
image folder) is reported as such, with the layout it should have, before
any sample is looked at.
"""
import argparse
import glob
import os
import os.path as osp
import sys
import time
from typing import List, Optional

from bafenet.datasets import DenseSIRSTDataset, DenseSIRSTValidator
from bafenet.datasets.target_mask import DEFAULT_MASK_THRESHOLD
from bafenet.datasets.validation import BOX_CONVENTIONS, BOX_SOURCES


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
        '--mask-dir',
        help='folder of the binary target masks (DenseSIRST: '
        'SIRST/BinaryMask with --mask-suffix _pixels0.png); default: none')
    parser.add_argument(
        '--mask-suffix', default='.png', help='target mask suffix')
    parser.add_argument(
        '--mask-threshold',
        type=int,
        default=DEFAULT_MASK_THRESHOLD,
        help='lowest target value of masks that are not strictly 0/255 or '
        '0/1')
    parser.add_argument(
        '--boxes-from',
        choices=BOX_SOURCES,
        default='xml',
        help="where boxes come from; 'mask' needs --mask-dir and no XMLs")
    parser.add_argument(
        '--box-convention',
        choices=BOX_CONVENTIONS,
        default='voc',
        help="how XML boxes are read (the dataset's box_convention); "
        "'pixel' accepts 0-based boxes that touch the left or top edge")
    parser.add_argument(
        '--allow-missing-seg',
        action='store_true',
        help='accept images without a sky map')
    return parser.parse_args()


#: The DenseSIRST layout, for messages about a folder that does not have it.
LAYOUT = ('{split_dir}/<split>.txt (one image id per line), '
          '{img_dir}/<id>.png, {ann_dir}/<id>.xml and {seg_dir}/<id>.png')


def layout_problems(data_root: str,
                    splits: List[str],
                    img_dir: str,
                    ann_dir: Optional[str],
                    seg_dir: str,
                    split_dir: str,
                    allow_missing_seg: bool,
                    mask_dir: Optional[str] = None) -> List[str]:
    """What makes ``data_root`` not a dataset in the DenseSIRST layout.

    Args:
        data_root (str): The folder given on the command line.
        splits (list[str]): The split names asked for; empty for all.
        img_dir, seg_dir, split_dir (str): The sub-folders.
        ann_dir (str, optional): The XML folder; None when boxes come from
            the masks.
        allow_missing_seg (bool): Whether the sky-map folder may be absent.
        mask_dir (str, optional): The target mask folder, if any.

    Returns:
        list[str]: One ``<path>: <problem>`` line per missing part; empty
        when the folder has the layout (its samples are checked next).
    """
    if not osp.isdir(data_root):
        return [f'{data_root}: no such folder']
    problems = []
    split_folder = osp.join(data_root, split_dir)
    if not osp.isdir(split_folder):
        problems.append(f'{split_folder}: no such folder (expected the split '
                        'files <split>.txt, one image id per line)')
    elif not splits and not glob.glob(osp.join(split_folder, '*.txt')):
        problems.append(f'{split_folder}: no split file (expected '
                        '<split>.txt, one image id per line)')
    folders = [(img_dir, 'the images <id>.png')]
    if ann_dir is not None:
        folders.append((ann_dir, 'the box annotations <id>.xml'))
    if mask_dir is not None:
        folders.append((mask_dir, 'the target masks'))
    if not allow_missing_seg:
        folders.append((seg_dir, 'the sky maps <id>.png'))
    for folder, what in folders:
        path = osp.join(data_root, folder)
        if not osp.isdir(path):
            problems.append(f'{path}: no such folder (expected {what})')
        elif not any(os.scandir(path)):
            problems.append(f'{path}: empty folder (expected {what})')
    return problems


def check_dataset(data_root: str,
                  splits: List[str],
                  img_dir: str = 'PNGImages',
                  ann_dir: str = 'SIRST/BBox',
                  seg_dir: str = 'SkySeg/PaletteMask',
                  split_dir: str = 'Splits',
                  allow_missing_seg: bool = False,
                  mask_dir: Optional[str] = None,
                  mask_suffix: str = '.png',
                  mask_threshold: int = DEFAULT_MASK_THRESHOLD,
                  boxes_from: str = 'xml',
                  box_convention: str = 'voc') -> int:
    """Print the problems of a dataset, per split and then unlisted files,
    and how long the check took.

    Args:
        data_root (str): The dataset folder.
        splits (list[str]): Split names; empty for every split file.
        img_dir (str): Image folder under ``data_root``.
        ann_dir (str): Box XML folder under ``data_root``.
        seg_dir (str): Sky map folder under ``data_root``.
        split_dir (str): Split file folder under ``data_root``.
        allow_missing_seg (bool): Accept images without a sky map.
        mask_dir (str, optional): Target mask folder under ``data_root``.
        mask_suffix (str): Target mask suffix.
        mask_threshold (int): Lowest target value of masks that are not
            strictly 0/255 or 0/1.
        boxes_from (str): ``'xml'`` or ``'mask'``.
        box_convention (str): ``'voc'`` or ``'pixel'`` (see
            :class:`~bafenet.datasets.DenseSIRSTValidator`).

    Returns:
        int: The number of problems.
    """
    start = time.perf_counter()
    if boxes_from == 'mask':
        ann_dir = None
    problems = layout_problems(data_root, splits, img_dir, ann_dir, seg_dir,
                               split_dir, allow_missing_seg, mask_dir)
    if problems:
        for problem in problems:
            print(problem)
        layout = LAYOUT.format(
            split_dir=split_dir,
            img_dir=img_dir,
            ann_dir=ann_dir,
            seg_dir=seg_dir)
        print(f'{data_root} is not a dataset in the DenseSIRST layout: '
              f'expected {layout}')
        return len(problems)
    meta = DenseSIRSTDataset.METAINFO
    validator = DenseSIRSTValidator(
        img_dir=osp.join(data_root, img_dir),
        ann_dir=None if ann_dir is None else osp.join(data_root, ann_dir),
        seg_dir=osp.join(data_root, seg_dir),
        classes=meta['classes'],
        num_seg_classes=len(meta['seg_classes']),
        allow_missing_seg=allow_missing_seg,
        mask_dir=None if mask_dir is None else osp.join(data_root, mask_dir),
        mask_suffix=mask_suffix,
        mask_threshold=mask_threshold,
        boxes_from=boxes_from,
        box_convention=box_convention)
    all_splits = sorted(glob.glob(osp.join(data_root, split_dir, '*.txt')))
    split_files = ([osp.join(data_root, split_dir, f'{name}.txt')
                    for name in splits] if splits else all_splits)
    print(f'Checking {data_root}: {len(split_files)} split(s)')
    total = 0
    for split_file in split_files:
        data_list, problems, notes = validator.check_split(split_file)
        for problem in problems:
            print(problem)
        for note in notes:
            print(f'{split_file}: {note}')
        print(f'{split_file}: {len(data_list)} valid sample(s), '
              f'{len(problems)} problem(s)')
        total += len(problems)
    problems = validator.check_unlisted(all_splits)
    for problem in problems:
        print(problem)
    print(f'files in no split of {osp.join(data_root, split_dir)}: '
          f'{len(problems)}')
    total += len(problems)
    print(f'{total} problem(s) in total; checked (every image decoded) in '
          f'{time.perf_counter() - start:.1f} s')
    return total


def main():
    args = parse_args()
    problems = check_dataset(args.data_root, args.split or [], args.img_dir,
                             args.ann_dir, args.seg_dir, args.split_dir,
                             args.allow_missing_seg, args.mask_dir,
                             args.mask_suffix, args.mask_threshold,
                             args.boxes_from, args.box_convention)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()

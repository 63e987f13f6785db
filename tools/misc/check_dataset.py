"""Check a dataset in the DenseSIRST layout and list every problem at once.

``python tools/misc/check_dataset.py DATA_ROOT [--split train_v2 test_v2]``
``python tools/misc/check_dataset.py --config CONFIG [--data-root DIR]``

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

With ``--config``, the datasets of the config's train, val and test
dataloaders are checked as the config builds them, whatever their type
(each dataset's own ``validator()``), with ``--data-root`` and
``--cfg-options`` applied as in ``tools/train.py``.
"""
import argparse
import glob
import os
import os.path as osp
import sys
import time
from typing import List, Optional

from mmengine.config import DictAction

from bafenet.datasets import (DENSESIRST_LAYOUT, DenseSIRSTDataset,
                              DenseSIRSTValidator)
from bafenet.datasets.target_mask import DEFAULT_MASK_THRESHOLD
from bafenet.datasets.validation import BOX_CONVENTIONS, BOX_SOURCES
from bafenet.registry import DATASETS
from bafenet.utils import (innermost_dataset_cfg, load_config,
                           register_all_modules)

#: The folders and suffixes of the checked layout (DenseSIRST's).
FOLDERS, SUFFIXES = DENSESIRST_LAYOUT.folders, DENSESIRST_LAYOUT.suffixes


def parse_args():
    parser = argparse.ArgumentParser(
        description='Check a dataset in the DenseSIRST layout')
    parser.add_argument(
        'data_root', nargs='?', help='the SIRSTdevkit folder')
    parser.add_argument(
        '--config', help='check the datasets of this config instead')
    parser.add_argument(
        '--data-root',
        dest='config_data_root',
        help='with --config: the data root the config reads')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='with --config: override settings of the config')
    parser.add_argument(
        '--split',
        nargs='+',
        help='split names (files Splits/<name>.txt) to check; default: all '
        'split files')
    parser.add_argument(
        '--img-dir', default=FOLDERS['img'], help='image folder')
    parser.add_argument(
        '--ann-dir', default=FOLDERS['ann'], help='folder of the box XMLs')
    parser.add_argument(
        '--seg-dir', default=FOLDERS['seg'], help='sky map folder')
    parser.add_argument(
        '--split-dir',
        default=DENSESIRST_LAYOUT.split_dir,
        help='folder of the split files')
    parser.add_argument(
        '--mask-dir',
        help='folder of the binary target masks (DenseSIRST: '
        f'{FOLDERS["mask"]} with --mask-suffix {SUFFIXES["mask"]}); '
        'default: none')
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
    args = parser.parse_args()
    if (args.config is None) == (args.data_root is None):
        parser.error('give a DATA_ROOT or --config CONFIG, not both')
    return args


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
                  img_dir: str = FOLDERS['img'],
                  ann_dir: str = FOLDERS['ann'],
                  seg_dir: str = FOLDERS['seg'],
                  split_dir: str = DENSESIRST_LAYOUT.split_dir,
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


def check_config(config: str,
                 data_root: Optional[str] = None,
                 cfg_options: Optional[dict] = None) -> int:
    """Print the problems of the datasets of a config's train, val and test
    dataloaders (each once), as the config builds them.

    Args:
        config (str): The config file.
        data_root (str, optional): The data root the config reads.
        cfg_options (dict, optional): Overrides of the config.

    Returns:
        int: The number of problems.

    Raises:
        TypeError: If a dataset type has no ``validator()`` (not a dataset
            of bafenet's).
    """
    start = time.perf_counter()
    register_all_modules()
    cfg = load_config(config, cfg_options, data_root)
    checked, total = [], 0
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not loader:
            continue
        dataset_cfg = innermost_dataset_cfg(loader.dataset)
        if dataset_cfg in checked:
            continue
        checked.append(dataset_cfg)
        dataset = DATASETS.build(
            dict(dataset_cfg, lazy_init=True, pipeline=[]))
        if not hasattr(dataset, 'validator'):
            raise TypeError(
                f'{name}: {type(dataset).__name__} has no validator(); '
                'check_dataset.py checks the datasets of bafenet')
        data_list, problems, notes = dataset.validator().check_split(
            dataset.ann_file)
        for problem in problems:
            print(problem)
        for note in notes:
            print(f'{dataset.ann_file}: {note}')
        print(f'{name}: {type(dataset).__name__} {dataset.ann_file}: '
              f'{len(data_list)} valid sample(s), {len(problems)} '
              'problem(s)')
        total += len(problems)
    print(f'{total} problem(s) in total; checked (every image decoded) in '
          f'{time.perf_counter() - start:.1f} s')
    return total


def main():
    args = parse_args()
    if args.config:
        problems = check_config(args.config, args.config_data_root,
                                args.cfg_options)
        sys.exit(1 if problems else 0)
    problems = check_dataset(args.data_root, args.split or [], args.img_dir,
                             args.ann_dir, args.seg_dir, args.split_dir,
                             args.allow_missing_seg, args.mask_dir,
                             args.mask_suffix, args.mask_threshold,
                             args.boxes_from, args.box_convention)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()

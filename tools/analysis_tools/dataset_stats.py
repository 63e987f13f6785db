"""Statistics of a dataset in the DenseSIRST layout: a table and figures.

    python tools/analysis_tools/dataset_stats.py DATA_ROOT \
        [--split train_v2 val_v2 trainval_v2 test_v2] [--out-dir DIR]

Prints one table row per split (a name reads ``Splits/<name>.txt``; a path
to a split file is used as it is). Only annotations are read for the table
(``check_images=False``), so splits whose images are not all present still
count. Box sizes in the table are inclusive VOC widths at the original
resolution; "in sky" is the fraction of box pixels whose sky-map value is 1.

With ``--out-dir``, the three figures of the DenseSIRST README are drawn
from every image listed in any of the splits (each image once) and their
numbers are written to ``dataset_stats.json``:

- ``dataset_object_sizes.png``: one bubble per (width, height) of the boxes,
  its area proportional to the number of targets of that size. Sizes are
  ``xmax - xmin`` and ``ymax - ymin`` of the XML boxes, the convention of
  the reference figure (the inclusive pixel count is one more); the plot
  shows 2-10 px, the JSON has every size.
- ``dataset_local_contrast.png``: the distribution of the local contrast of
  the targets, ``C = mean(I over the target's mask pixels in its box) /
  mean(I over the ring around the box)``, where the ring is the 3x3 grid of
  box-sized cells centred on the box without its centre cell (the
  neighbourhood of the local contrast measure, LCM), clipped to the image.
  Targets are the boxes; their pixels are those of the box that
  ``SIRST/BinaryMask`` marks (the whole box if it marks none). Neighbouring
  targets are not removed from the ring: as the DenseSIRST README notes,
  clustered targets lower each other's contrast. Bins are 0.25 wide,
  centred on 0.25, 0.5, ..., 5 (the end bins also hold the values beyond
  them).
- ``dataset_brightness.png``: the distribution of the targets' brightness
  rank, the percentage of the image's pixels strictly brighter than the
  brightest pixel of the target's box: 0% means that no pixel of the
  image is brighter than the target. Bins are 5% wide.

Images that are missing on disk are left out of the two intensity figures
(their number is printed and stored); the size figure uses every box.

It also prints where the boxes sit on their targets (``box_vs_mask`` in the
JSON): over the ``SIRST/BinaryMask`` pixels within one pixel of each box
(boxes with ``box_convention='voc'``, as the dataset loads them by
default), the mean of the mask's first column and row minus the box's
``x1, y1``, of its last column and row minus ``x2, y2``, and of the mask's
centroid minus the box centre
``((x1 + x2) / 2, (y1 + y2) / 2)``. Zero everywhere means boxes that hold
exactly their target's pixels; a flip then keeps a box on its target only
if it maps pixel ``x`` to ``W - 1 - x`` (mmdet's maps box coordinates to
``W - x``; docs/method.md, section "Flips").
"""
import argparse
import collections
import json
import os
import os.path as osp
import time

import cv2
import matplotlib
import numpy as np
from PIL import Image

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from bafenet.datasets import (DENSESIRST_LAYOUT,  # noqa: E402
                              DenseSIRSTDataset)
#: Local-contrast bins: 0.25 wide, centred on 0.25, 0.5, ..., 5.
CONTRAST_CENTERS = np.arange(1, 21) * 0.25
#: Brightness-rank bins: 5% wide, from 0% to 100%.
BRIGHTNESS_EDGES = np.linspace(0, 100, 21)
#: Width and height range shown by the size figure (pixels).
SIZE_RANGE = (2, 10)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the SIRSTdevkit folder')
    parser.add_argument(
        '--split',
        nargs='+',
        default=['train_v2', 'val_v2', 'trainval_v2', 'test_v2'],
        help='split names (Splits/<name>.txt) or split files')
    parser.add_argument(
        '--out-dir',
        help='write the three figures and dataset_stats.json here')
    return parser.parse_args()


def split_file(data_root: str, split: str) -> str:
    """The split file of a split name, or the given path if it is a file."""
    if not osp.isfile(split):
        split = osp.join(data_root, DENSESIRST_LAYOUT.split_dir,
                         f'{split}.txt')
    return osp.abspath(split)


def load_split(data_root: str, split: str) -> DenseSIRSTDataset:
    """The annotations of one split, without reading its images."""
    return DenseSIRSTDataset(data_root=data_root,
                             ann_file=split_file(data_root, split),
                             pipeline=[],
                             check_images=False)


def split_stats(dataset: DenseSIRSTDataset) -> dict:
    """One table row: counts, box sizes and sky fractions of a split.

    Args:
        dataset (DenseSIRSTDataset): The split, built with
            ``check_images=False``.

    Returns:
        dict: ``images``, ``boxes``, ``per_image`` (min, max, mean, median
        boxes per image), ``median_box`` (w, h), ``small`` (fraction of
        boxes <= 5x5 px), ``large`` (boxes >= 10 px on a side), ``sky``
        (mean, median sky fraction), ``no_sky``, ``all_sky``, ``in_sky``
        (fraction of box pixels in sky) and ``sizes`` (the 4 most common
        image sizes with their counts).
    """
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
    return dict(images=len(dataset),
                boxes=len(boxes),
                per_image=(int(per_image.min()), int(per_image.max()),
                           float(per_image.mean()),
                           float(np.median(per_image))),
                median_box=(float(np.median(w)), float(np.median(h))),
                small=float(np.mean((w <= 5) & (h <= 5))),
                large=int(np.sum((w >= 10) | (h >= 10))),
                sky=(float(sky_fraction.mean()),
                     float(np.median(sky_fraction))),
                no_sky=int(np.sum(sky_fraction == 0)),
                all_sky=int(np.sum(sky_fraction == 1)),
                in_sky=float(in_sky / in_sky_total),
                sizes=[[w, h, n] for (w, h), n in sizes.most_common(4)])


def box_sums(integral: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Sums of an image over boxes, from its integral image.

    Args:
        integral (np.ndarray): ``cv2.integral`` of the image, (H+1, W+1).
        boxes (np.ndarray): (N, 4) inclusive pixel boxes ``x1, y1, x2, y2``
            inside the image, int.

    Returns:
        np.ndarray: (N,) sums.
    """
    x1, y1, x2, y2 = boxes.T
    return (integral[y2 + 1, x2 + 1] - integral[y1, x2 + 1] -
            integral[y2 + 1, x1] + integral[y1, x1])


def box_pixels(image: np.ndarray, boxes: np.ndarray) -> tuple:
    """The pixels of each box, padded to the largest box.

    Args:
        image (np.ndarray): (H, W) image.
        boxes (np.ndarray): (N, 4) inclusive pixel boxes, int.

    Returns:
        tuple: ``(values, valid)``, both (N, Hmax, Wmax): the pixels of each
        box (padded with its top-left pixel) and which of them lie in it.
    """
    x1, y1, x2, y2 = boxes.T
    dy = np.arange((y2 - y1).max() + 1)
    dx = np.arange((x2 - x1).max() + 1)
    rows = y1[:, None] + dy[None]
    cols = x1[:, None] + dx[None]
    valid = ((rows <= y2[:, None])[:, :, None] &
             (cols <= x2[:, None])[:, None, :])
    rows = np.where(rows <= y2[:, None], rows, y1[:, None])
    cols = np.where(cols <= x2[:, None], cols, x1[:, None])
    return image[rows[:, :, None], cols[:, None, :]], valid


def target_intensity_stats(image: np.ndarray, target_mask: np.ndarray,
                           boxes: np.ndarray) -> tuple:
    """Local contrast and brightness rank of the targets of one image.

    Args:
        image (np.ndarray): (H, W) uint8 grayscale image.
        target_mask (np.ndarray): (H, W) bool target pixels.
        boxes (np.ndarray): (N, 4) inclusive pixel boxes ``x1, y1, x2, y2``,
            int.

    Returns:
        tuple: ``(contrast, brightness)``, both (N,) float: the local
        contrast (see the module docstring) and the percentage of image
        pixels strictly brighter than the brightest pixel of each box.
    """
    height, width = image.shape
    values, valid = box_pixels(image, boxes)
    in_mask, _ = box_pixels(target_mask, boxes)
    in_mask &= valid
    in_mask |= valid & ~in_mask.any(axis=(1, 2), keepdims=True)
    target_mean = ((values * in_mask).sum(axis=(1, 2)) /
                   in_mask.sum(axis=(1, 2)))

    integral = cv2.integral(image, sdepth=cv2.CV_64F)
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    outer = np.stack(
        [boxes[:, 0] - w, boxes[:, 1] - h, boxes[:, 2] + w, boxes[:, 3] + h],
        axis=1)
    outer = np.clip(outer, 0, [width - 1, height - 1, width - 1, height - 1])
    outer_area = ((outer[:, 2] - outer[:, 0] + 1) *
                  (outer[:, 3] - outer[:, 1] + 1))
    ring_sum = box_sums(integral, outer) - box_sums(integral, boxes)
    ring_mean = ring_sum / np.maximum(outer_area - w * h, 1)
    contrast = target_mean / np.maximum(ring_mean, 1.0)

    peak = np.where(valid, values, 0).max(axis=(1, 2))
    histogram = np.bincount(image.ravel(), minlength=256)
    brighter = image.size - np.cumsum(histogram)
    brightness = 100.0 * brighter[peak] / image.size
    return contrast, brightness


def box_mask_offsets(target_mask: np.ndarray,
                     boxes: np.ndarray) -> np.ndarray:
    """Where each box sits on the target-mask pixels around it.

    Args:
        target_mask (np.ndarray): (H, W) bool target pixels.
        boxes (np.ndarray): (N, 4) inclusive pixel boxes ``x1, y1, x2, y2``,
            int.

    Returns:
        np.ndarray: (N, 6) float: the first mask column and row minus ``x1,
        y1``, the last minus ``x2, y2``, and the centroid minus the box
        centre (x, y), over the mask pixels of the box grown by one pixel
        (clipped to the image); NaN rows for boxes without mask pixels.
    """
    height, width = target_mask.shape
    grown = np.clip(boxes + [-1, -1, 1, 1], 0,
                    [width - 1, height - 1, width - 1, height - 1])
    marks, valid = box_pixels(target_mask, grown)
    marks &= valid
    ys = grown[:, 1, None, None] + np.arange(marks.shape[1])[None, :, None]
    xs = grown[:, 0, None, None] + np.arange(marks.shape[2])[None, None, :]
    ys, xs = np.broadcast_to(ys, marks.shape), np.broadcast_to(xs, marks.shape)
    count = marks.sum(axis=(1, 2))
    found = count > 0
    first_x = np.where(marks, xs, width).min(axis=(1, 2))
    first_y = np.where(marks, ys, height).min(axis=(1, 2))
    last_x = np.where(marks, xs, -1).max(axis=(1, 2))
    last_y = np.where(marks, ys, -1).max(axis=(1, 2))
    safe = np.maximum(count, 1)
    centroid_x = (marks * xs).sum(axis=(1, 2)) / safe
    centroid_y = (marks * ys).sum(axis=(1, 2)) / safe
    x1, y1, x2, y2 = boxes.T
    offsets = np.stack([
        first_x - x1, first_y - y1, last_x - x2, last_y - y2,
        centroid_x - (x1 + x2) / 2, centroid_y - (y1 + y2) / 2
    ], 1).astype(np.float64)
    offsets[~found] = np.nan
    return offsets


def image_stats(data_root: str, infos: list) -> dict:
    """Target sizes, local contrasts and brightness ranks of images.

    Args:
        data_root (str): The SIRSTdevkit folder (for the target masks).
        infos (list[dict]): Data infos of ``DenseSIRSTDataset`` (boxes are
            0-based, ``box_convention='voc'``).

    Returns:
        dict: ``sizes`` (K, 2) box widths and heights (``xmax - xmin``);
        ``contrast`` and ``brightness`` (M,) and ``offsets`` (M, 6, see
        :func:`box_mask_offsets`) over the targets of the images present on
        disk; ``images``, ``images_missing``.
    """
    sizes, contrast, brightness, offsets, missing = [], [], [], [], 0
    for info in infos:
        boxes = np.array([i['bbox'] for i in info['instances']],
                         dtype=np.float64).reshape(-1, 4)
        sizes.append(boxes[:, 2:] - boxes[:, :2])
        if not osp.isfile(info['img_path']):
            missing += 1
            continue
        image = cv2.imread(info['img_path'], cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f'{info["img_path"]}: unreadable image')
        if not len(boxes):
            continue
        mask_path = osp.join(
            data_root, DENSESIRST_LAYOUT.folders['mask'],
            info['img_id'] + DENSESIRST_LAYOUT.suffixes['mask'])
        mask = cv2.imread(mask_path, cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise FileNotFoundError(f'{mask_path}: missing target mask')
        c, b = target_intensity_stats(image, mask > 0, boxes.astype(int))
        contrast.append(c)
        brightness.append(b)
        offsets.append(box_mask_offsets(mask > 0, boxes.astype(int)))
    return dict(
        sizes=np.concatenate(sizes).astype(int),
        contrast=np.concatenate(contrast) if contrast else np.zeros(0),
        brightness=np.concatenate(brightness) if brightness else np.zeros(0),
        offsets=np.concatenate(offsets) if offsets else np.zeros((0, 6)),
        images=len(infos),
        images_missing=missing)


def distributions(stats: dict) -> dict:
    """The numbers behind the three figures (JSON-ready).

    Args:
        stats (dict): The output of :func:`image_stats`.

    Returns:
        dict: ``images``, ``images_missing``, ``targets``, ``size_counts``
        (``[width, height, count]`` for every size), ``contrast`` and
        ``brightness`` (bin centres, percent of targets per bin and summary
        numbers).
    """
    sizes = collections.Counter(map(tuple, stats['sizes'].tolist()))
    contrast, brightness = stats['contrast'], stats['brightness']
    offsets = stats['offsets'][~np.isnan(stats['offsets']).any(1)]
    mean_offsets = offsets.mean(0) if len(offsets) else np.full(6, np.nan)
    num = max(len(contrast), 1)
    bins = np.clip(
        np.floor(contrast / 0.25 + 0.5).astype(int), 1, len(CONTRAST_CENTERS))
    contrast_percent = np.bincount(
        bins - 1, minlength=len(CONTRAST_CENTERS)) * 100.0 / num
    brightness_percent = np.histogram(brightness,
                                      BRIGHTNESS_EDGES)[0] * 100.0 / num
    return dict(
        images=stats['images'],
        images_missing=stats['images_missing'],
        targets=int(len(stats['sizes'])),
        targets_measured=int(len(contrast)),
        size_counts=[[w, h, n] for (w, h), n in sorted(sizes.items())],
        contrast=dict(
            bin_centers=CONTRAST_CENTERS.tolist(),
            percent=contrast_percent.tolist(),
            median=float(np.median(contrast)) if len(contrast) else None,
            below_2=float(np.mean(contrast < 2)) if len(contrast) else None),
        brightness=dict(
            bin_centers=((BRIGHTNESS_EDGES[:-1] + BRIGHTNESS_EDGES[1:]) /
                         2).tolist(),
            percent=brightness_percent.tolist(),
            brightest_in_image=float(np.mean(
                brightness == 0)) if len(brightness) else None),
        box_vs_mask=dict(
            targets=int(len(offsets)),
            first_minus_x1_y1=mean_offsets[:2].tolist(),
            last_minus_x2_y2=mean_offsets[2:4].tolist(),
            centroid_minus_centre=mean_offsets[4:].tolist()))


def plot_sizes(figures: dict, out_file: str) -> None:
    """The bubble chart of target widths and heights."""
    lo, hi = SIZE_RANGE
    counts = np.array([
        c for c in figures['size_counts']
        if lo <= c[0] <= hi and lo <= c[1] <= hi
    ])
    with plt.style.context('ggplot'):
        fig, ax = plt.subplots(figsize=(10, 8))
        colours = plt.get_cmap('tab20')(np.arange(len(counts)) % 20)
        ax.scatter(counts[:, 0],
                   counts[:, 1],
                   s=20 + counts[:, 2] * 5000.0 / counts[:, 2].max(),
                   c=colours,
                   alpha=0.7,
                   edgecolors='none')
        ax.text(0.97,
                0.04,
                f'Sampled Objects: {figures["targets"]}',
                transform=ax.transAxes,
                ha='right',
                fontsize=18)
        ax.set_xlim(lo - 0.5, hi + 0.5)
        ax.set_ylim(lo - 0.5, hi + 0.5)
        ax.set_xticks(range(lo, hi + 1))
        ax.set_yticks(range(lo, hi + 1))
        ax.set_xlabel('Object Width (px)', fontsize=16)
        ax.set_ylabel('Object Height (px)', fontsize=16)
        ax.set_title('Object Size Distribution', fontsize=18)
        fig.savefig(out_file, dpi=100, bbox_inches='tight')
        plt.close(fig)


def plot_distribution(centers: list,
                      percent: list,
                      out_file: str,
                      title: str,
                      xlabel: str,
                      colour_label: str,
                      xformat: str = '{:g}') -> None:
    """A percent-of-targets curve with points coloured by their bin."""
    centers, percent = np.asarray(centers), np.asarray(percent)
    cmap = plt.get_cmap('Spectral_r')
    colours = cmap(np.linspace(0, 1, len(centers)))
    with plt.style.context('ggplot'):
        fig, ax = plt.subplots(figsize=(8, 6))
        for i in range(len(centers) - 1):
            ax.plot(centers[i:i + 2],
                    percent[i:i + 2],
                    color=colours[i],
                    linewidth=2)
        points = ax.scatter(centers,
                            percent,
                            c=centers,
                            cmap=cmap,
                            s=120,
                            zorder=3)
        fig.colorbar(points, ax=ax, shrink=0.4, label=colour_label)
        ax.xaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _: xformat.format(v)))
        ax.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _: f'{v:g}%'))
        ax.set_xlabel(xlabel, fontsize=14)
        ax.set_ylabel('Percent of Targets', fontsize=14)
        ax.set_title(title, fontsize=16)
        fig.savefig(out_file, dpi=100, bbox_inches='tight')
        plt.close(fig)


def write_figures(figures: dict, out_dir: str) -> list:
    """Draw the three figures into ``out_dir``; returns their paths."""
    paths = [
        osp.join(out_dir, f'dataset_{name}.png')
        for name in ('object_sizes', 'local_contrast', 'brightness')
    ]
    plot_sizes(figures, paths[0])
    plot_distribution(figures['contrast']['bin_centers'],
                      figures['contrast']['percent'], paths[1],
                      'Target Local Contrast', 'Local Contrast', 'Contrast')
    plot_distribution(figures['brightness']['bin_centers'],
                      figures['brightness']['percent'], paths[2],
                      'Target Brightness Rank',
                      'Image Pixels Brighter than the Target', 'Percentage',
                      '{:g}%')
    return paths


def print_table(names: list, rows: list) -> None:
    """The markdown table of :func:`split_stats` rows."""
    print('| split | images | boxes | boxes / image (min-max, mean, median) '
          '| median box | boxes <= 5x5 px | boxes >= 10 px | mean sky '
          'fraction (median) | frames without sky / all sky | box pixels '
          'in sky | most common sizes |')
    print('|' + '---|' * 11)
    for name, s in zip(names, rows):
        lo, hi, mean, median = s['per_image']
        sizes = ', '.join(f'{w}x{h} ({n})' for w, h, n in s['sizes'])
        print(f'| {name} | {s["images"]} | {s["boxes"]:,} | {lo}-{hi}, '
              f'{mean:.2f}, {median:.0f} | {s["median_box"][0]:.0f}x'
              f'{s["median_box"][1]:.0f} | {s["small"]:.1%} | {s["large"]} '
              f'| {s["sky"][0]:.3f} ({s["sky"][1]:.3f}) | {s["no_sky"]} / '
              f'{s["all_sky"]} | {s["in_sky"]:.1%} | {sizes} |')


def main():
    args = parse_args()
    names = [osp.splitext(osp.basename(s))[0] for s in args.split]
    datasets = [load_split(args.data_root, s) for s in args.split]
    rows = [split_stats(d) for d in datasets]
    print_table(names, rows)
    if not args.out_dir:
        return

    start = time.perf_counter()
    infos = {}
    for dataset in datasets:
        for info in dataset:
            infos.setdefault(info['img_id'], info)
    figures = distributions(image_stats(args.data_root, list(infos.values())))
    os.makedirs(args.out_dir, exist_ok=True)
    paths = write_figures(figures, args.out_dir)
    json_path = osp.join(args.out_dir, 'dataset_stats.json')
    with open(json_path, 'w') as f:
        json.dump(dict(splits=dict(zip(names, rows)), figures=figures),
                  f,
                  indent=1)
    print(f'\n{figures["images"]} images ({figures["images_missing"]} '
          f'missing on disk), {figures["targets"]} targets '
          f'({figures["targets_measured"]} with intensity figures), '
          f'{time.perf_counter() - start:.1f} s')
    if figures['targets_measured']:
        print(f'local contrast: median {figures["contrast"]["median"]:.2f}, '
              f'{figures["contrast"]["below_2"]:.1%} below 2; brightest '
              'pixel of their image: '
              f'{figures["brightness"]["brightest_in_image"]:.1%}')
        where = figures['box_vs_mask']
        print('boxes on their target masks ({} targets, mean x, y): first '
              'mask pixel - box start {:+.3f}, {:+.3f}; last - box end '
              '{:+.3f}, {:+.3f}; mask centroid - box centre {:+.3f}, '
              '{:+.3f}'.format(where['targets'], *where['first_minus_x1_y1'],
                               *where['last_minus_x2_y2'],
                               *where['centroid_minus_centre']))
    for path in paths + [json_path]:
        print(f'wrote {path}')


if __name__ == '__main__':
    main()

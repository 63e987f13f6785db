"""BAG-CP: background-aware Gaussian copy-paste of small targets."""
import collections
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from bafenet.registry import TRANSFORMS


def summed_area_table(mask: np.ndarray) -> np.ndarray:
    """(H + 1, W + 1) int32 table S with S[y, x] = mask[:y, :x].sum()."""
    return cv2.integral(mask.view(np.uint8))


def rect_sums(table: np.ndarray, x: np.ndarray, y: np.ndarray, w,
              h) -> np.ndarray:
    """Sums of the mask over rectangles [x, x + w) x [y, y + h), vectorised
    over arrays of top-left corners (and sizes)."""
    return (table[y + h, x + w] - table[y, x + w] - table[y + h, x] +
            table[y, x])


def overlaps(x: np.ndarray, y: np.ndarray, w: int, h: int,
             rects: np.ndarray, margin: int) -> np.ndarray:
    """Whether each candidate [x, x + w) x [y, y + h), grown by ``margin``,
    meets any of ``rects`` (K, 4) ``[x1, y1, x2, y2)``: (M,) bool."""
    if len(rects) == 0:
        return np.zeros(len(x), bool)
    x, y = x[:, None], y[:, None]
    return ((x - margin < rects[:, 2]) & (rects[:, 0] < x + w + margin) &
            (y - margin < rects[:, 3]) & (rects[:, 1] < y + h + margin)).any(1)


class SourceTargets(NamedTuple):
    """Targets to paste: patches (h, w, C) with their labels and ignore
    flags, (N,) each."""
    patches: List[np.ndarray]
    labels: np.ndarray
    ignore_flags: np.ndarray


@TRANSFORMS.register_module()
class BAGCopyPaste(BaseTransform):
    """Background-aware Gaussian copy-paste (BAG-CP).

    Pastes a random subset of the targets of a second (source) sample into
    this (destination) sample, only where the destination's sky map says sky,
    in clusters, with an additive rotated-Gaussian blend. Use it inside
    mmdet's ``MultiImageMixDataset``, after the resize and flip of both
    samples::

        dict(type='MultiImageMixDataset', dataset=..., pipeline=[
            dict(type='BAGCopyPaste'), dict(type='PackDetInputs')])

    Algorithm (sizes in pixels of the transformed image):

    1. Draw ``n`` uniformly in ``0 .. min(#source targets, max_num_pasted)``
       and pick ``n`` source boxes without replacement. A box of
       ``large_size`` px or more on a side is resized to ``shrink_size``.
    2. Place them in groups of ``cluster_size``. A group first looks for a
       ``window_size`` window that lies wholly in the paste region and keeps
       ``margin`` from every target; if none of ``num_candidates`` random windows fits, the
       window shrinks by ``window_step`` down to ``min_window_size``. Each
       target of the group then takes a random position inside the window;
       without a window, or if no position there fits, a random position
       anywhere in the region. A position fits when the target's rectangle
       lies wholly in the region and, grown by ``margin``, meets no existing
       or pasted target. Every search tries ``num_candidates`` positions at
       once and a target with no fitting position is not pasted: no loop is
       unbounded and no constraint is ever broken.
    3. Blend: ``dst + lambda * G * src`` clipped to the image dtype's range,
       where G is a rotated anisotropic Gaussian on [-1, 1]^2 (sigmas in
       ``sigma_range``, centre offsets in ``offset_range``, angle in
       ``angle_range`` degrees), min-max normalised to [0, 1], and lambda is
       drawn from ``intensity_range`` per target. ``blend='hard'`` copies the
       source pixels instead.
    4. The pasted boxes are appended to ``gt_bboxes`` with the source's
       labels and ignore flags; ``bag_cp_num_pasted`` records how many (they
       are the last ones).

    The sky map is left as it is by default: in DenseSIRST targets are
    labelled sky, so pasting into sky needs no change. ``seg_fill`` writes a
    value into the pasted rectangles instead (e.g. for ``sky_only=False``).

    The region is read from the sample's own ``gt_seg_map`` (after the
    pipeline's resize, flip or crop), so any image size works; the image
    keeps its dtype and channel count. A destination without sky, or a
    source without targets, comes back unchanged.

    Ablation variants are options: ``sky_only=False`` pastes anywhere,
    ``blend='hard'`` copies pixels, ``clustered=False`` scatters targets,
    ``prob`` applies the transform to a fraction of the samples.

    The original code's behaviour (``SkyCopyPaste`` of GrokCV/BAFE-Net),
where it differs, is :class:`OriginalBAGCopyPaste`, a subclass that
    overrides the hooks ``before_paste``, ``crop``, ``blend_input`` and
    ``next_window_start``.

    Required keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``, ``gt_seg_map`` (unless ``sky_only=False``),
    ``mix_results`` (one source sample with the same keys; empty once a
    full source bank supplies the sources).
    Modified keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags`` (and ``gt_seg_map`` with ``seg_fill``).
    Added keys: ``bag_cp_num_pasted``.

    Args:
        max_num_pasted (int): Most targets pasted per sample.
        sky_only (bool): Paste only into sky (False: anywhere).
        sky_label (int): The sky value of ``gt_seg_map``.
        blend (str): ``'gaussian'`` (additive Gaussian) or ``'hard'``.
        clustered (bool): Place targets in clusters (False: one by one).
        prob (float): Probability of applying the transform.
        cluster_size (int): Targets per cluster.
        window_size (int): Initial cluster window side.
        window_step (int): How much the window shrinks per failed search.
        min_window_size (int): Smallest window side tried.
        margin (int): Gap kept between a pasted target and any other.
        num_candidates (int): Positions tried per search.
        large_size (int): Targets with a side of this size or more ...
        shrink_size (int): ... are resized to this square size.
        sigma_range (tuple[float]): Range of the Gaussian's sigmas.
        offset_range (tuple[float]): Range of its centre offsets.
        angle_range (tuple[float]): Range of its angle, degrees, [lo, hi).
        intensity_range (tuple[float]): Range of lambda.
        seg_fill (int, optional): Value written into ``gt_seg_map`` at
            pasted rectangles; None leaves the map unchanged.
        source_bank_size (int): 0 takes the source from the second sample
            that ``MultiImageMixDataset`` loads for every sample, as the
            original does. N > 0 keeps the target patches of the last N
            samples this worker processed (after their resize and flip, so
            exactly what a loaded source would give) and, once N are kept,
            draws the source among them instead of loading one: the second
            load, which doubles the data pipeline's cost, is skipped.
        seed (int, optional): Seed of the numpy Generator. None seeds it
            from numpy's global generator, which mmengine seeds per
            dataloader worker. Each worker process adds its id to a given
            seed, so workers draw different samples.
    """

    def __init__(self,
                 max_num_pasted: int = 100,
                 sky_only: bool = True,
                 sky_label: int = 1,
                 blend: str = 'gaussian',
                 clustered: bool = True,
                 prob: float = 1.0,
                 cluster_size: int = 5,
                 window_size: int = 25,
                 window_step: int = 3,
                 min_window_size: int = 7,
                 margin: int = 1,
                 num_candidates: int = 100,
                 large_size: int = 10,
                 shrink_size: int = 7,
                 sigma_range: Sequence[float] = (0.3, 0.6),
                 offset_range: Sequence[float] = (-0.2, 0.0),
                 angle_range: Sequence[float] = (-90.0, 90.0),
                 intensity_range: Sequence[float] = (0.5, 1.0),
                 seg_fill: Optional[int] = None,
                 source_bank_size: int = 0,
                 seed: Optional[int] = None) -> None:
        if blend not in ('gaussian', 'hard'):
            raise ValueError(f"blend must be 'gaussian' or 'hard', got "
                             f'{blend!r}')
        self.max_num_pasted = max_num_pasted
        self.sky_only = sky_only
        self.sky_label = sky_label
        self.blend = blend
        self.clustered = clustered
        self.prob = prob
        self.cluster_size = cluster_size
        self.window_sizes = list(
            range(window_size, min_window_size - 1, -window_step))
        self.margin = margin
        self.num_candidates = num_candidates
        self.large_size = large_size
        self.shrink_size = shrink_size
        self.sigma_range = tuple(sigma_range)
        self.offset_range = tuple(offset_range)
        self.angle_range = tuple(angle_range)
        self.intensity_range = tuple(intensity_range)
        # sigma_x, sigma_y, offset_x, offset_y, angle, lambda per target
        self._blend_ranges = tuple(
            np.array(bounds, np.float64) for bounds in zip(
                self.sigma_range, self.sigma_range, self.offset_range,
                self.offset_range, self.angle_range, self.intensity_range))
        self.seg_fill = seg_fill
        self.source_bank_size = source_bank_size
        self._bank = collections.deque(maxlen=max(source_bank_size, 1))
        self.seed = seed
        self._rng = None

    @property
    def rng(self) -> np.random.Generator:
        """The Generator, created on first use inside the worker process."""
        if self._rng is None:
            if self.seed is None:
                seed = np.random.randint(2**31)
            else:
                worker = torch.utils.data.get_worker_info()
                seed = self.seed + (worker.id if worker is not None else 0)
            self._rng = np.random.default_rng(seed)
        return self._rng

    def get_indexes(self, dataset) -> List[int]:
        """One random source index (``MultiImageMixDataset`` API), or none
        once the source bank is full."""
        if self.source_bank_size and len(
                self._bank) == self.source_bank_size:
            return []
        return [int(self.rng.integers(len(dataset)))]

    def transform(self, results: dict) -> dict:
        """Paste source targets into ``results``; see the class doc."""
        results['bag_cp_num_pasted'] = 0
        source = self.source_targets(results)
        if self.source_bank_size:
            self._bank.append(self.targets_of(results))
        if self.prob < 1 and self.rng.random() >= self.prob:
            return results
        region = self.paste_region(results)
        if not region.any() or len(source.patches) == 0:
            return results
        num = int(
            self.rng.integers(
                min(len(source.patches), self.max_num_pasted) + 1))
        if num == 0:
            return results
        self.before_paste(results)
        picked = self.rng.choice(len(source.patches), num, replace=False)
        picked = picked[[source.patches[i].size > 0 for i in picked]]
        patches = [source.patches[i] for i in picked]
        positions = self.place([p.shape[:2] for p in patches], region,
                               results['gt_bboxes'].numpy())
        placed = [(k, pos) for k, pos in enumerate(positions)
                  if pos is not None]
        if not placed:
            return results
        img = results['img']
        top = (np.iinfo(img.dtype).max
               if np.issubdtype(img.dtype, np.integer) else np.inf)
        weights = (
            self.blend_weights([patches[k].shape[:2] for k, _ in placed])
            if self.blend == 'gaussian' else [None] * len(placed))
        new_boxes = []
        for (k, (x, y)), weight in zip(placed, weights):
            patch, weight = self.blend_input(patches[k], weight, top)
            self.paste(results, patch, x, y, weight, top)
            h, w = patches[k].shape[:2]
            new_boxes.append([x, y, x + w, y + h])
        index = picked[[k for k, _ in placed]]
        boxes = results['gt_bboxes']
        results['gt_bboxes'] = boxes.cat(
            [boxes, type(boxes)(np.array(new_boxes, np.float32))])
        results['gt_bboxes_labels'] = np.concatenate(
            [results['gt_bboxes_labels'], source.labels[index]])
        results['gt_ignore_flags'] = np.concatenate(
            [results['gt_ignore_flags'], source.ignore_flags[index]])
        results['bag_cp_num_pasted'] = len(placed)
        return results

    def before_paste(self, results: dict) -> None:
        """Hook run once targets are drawn for pasting, before they are
        placed; nothing here."""

    def blend_input(self, patch: np.ndarray, weight: Optional[np.ndarray],
                    top: float) -> tuple:
        """Hook on the patch (h, w, C) and its blend weight (h, w) (None for
        a hard paste) just before pasting; ``top`` is the dtype's largest
        value. Returns them unchanged here."""
        return patch, weight

    def next_window_start(self, window: Optional[tuple]) -> int:
        """Hook: the index into ``window_sizes`` at which the next
        cluster's window search starts, after this cluster found
        ``window`` (``(x, y, size)`` or None). Always the first here."""
        return 0

    def source_targets(self, results: dict) -> 'SourceTargets':
        """The targets to paste from: the mixed-in sample's, or, when that
        was not loaded, a random entry of the source bank."""
        if results.get('mix_results'):
            return self.targets_of(results['mix_results'][0])
        if not self._bank:
            raise KeyError(
                'BAGCopyPaste needs a source sample in results["mix_results"]'
                ': use it in the pipeline of a MultiImageMixDataset')
        return self._bank[int(self.rng.integers(len(self._bank)))]

    def targets_of(self, sample: dict) -> 'SourceTargets':
        """A sample's target patches (large ones shrunk), labels and ignore
        flags."""
        return SourceTargets(
            [self.crop(sample['img'], box)
             for box in sample['gt_bboxes'].numpy()],
            np.asarray(sample['gt_bboxes_labels']),
            np.asarray(sample['gt_ignore_flags']))

    def paste_region(self, results: dict) -> np.ndarray:
        """Where targets may go: sky, or the whole image; (H, W) bool."""
        if not self.sky_only:
            return np.ones(results['img'].shape[:2], bool)
        return results['gt_seg_map'] == self.sky_label

    def crop(self, img: np.ndarray, box: np.ndarray) -> np.ndarray:
        """A copy of the source pixels the box touches as (h, w, C), large
        ones shrunk (a copy, so that a banked patch does not keep its
        frame)."""
        height, width = img.shape[:2]
        x1 = min(max(math.floor(box[0]), 0), width - 1)
        y1 = min(max(math.floor(box[1]), 0), height - 1)
        x2 = min(max(math.ceil(box[2]), x1 + 1), width)
        y2 = min(max(math.ceil(box[3]), y1 + 1), height)
        return self.shrink(img[y1:y2, x1:x2])

    def shrink(self, pixels: np.ndarray) -> np.ndarray:
        """A copy of (h, w[, C]) ``pixels`` as (h, w, C), resized to
        ``shrink_size`` square when a side reaches ``large_size``; an empty
        crop stays empty."""
        height, width = pixels.shape[:2]
        channels = pixels.shape[2] if pixels.ndim == 3 else 1
        patch = pixels.reshape(height, width, channels).copy()
        if patch.size and max(patch.shape[:2]) >= self.large_size:
            patch = cv2.resize(patch, (self.shrink_size, self.shrink_size),
                               interpolation=cv2.INTER_LINEAR).reshape(
                                   self.shrink_size, self.shrink_size,
                                   channels)
        return patch

    def place(self, sizes: List[Tuple[int, int]], region: np.ndarray,
              boxes: np.ndarray) -> List[Optional[Tuple[int, int]]]:
        """Top-left corners (x, y) for targets of the given (h, w), or None
        where no position fits.

        Args:
            sizes (list[tuple[int, int]]): Target sizes (h, w).
            region (np.ndarray): (H, W) bool, where targets may lie.
            boxes (np.ndarray): (K, 4) existing boxes, x1 y1 x2 y2.
        """
        height, width = region.shape
        outside = summed_area_table(~region)
        occupied = np.concatenate([
            np.floor(boxes[:, :2]), np.ceil(boxes[:, 2:])
        ], axis=1).astype(int).reshape(-1, 4)
        region_idx = np.flatnonzero(region)
        positions = []
        group = self.cluster_size if self.clustered else 1
        first_size = 0  # index into window_sizes of the first size tried
        for start in range(0, len(sizes), group):
            window = None
            if self.clustered:
                window = self.find_window(outside, occupied, region_idx,
                                          width, height, first_size)
                first_size = self.next_window_start(window)
            # the window lies wholly in the region and clear of targets, so
            # inside it only the group's own pastes can be in the way
            in_group = np.empty((0, 4), int)
            for h, w in sizes[start:start + group]:
                pos = None
                if window is not None:
                    pos = self.find_position(
                        h, w, None, in_group, self.in_window(h, w, *window))
                if pos is None:
                    pos = self.find_position(
                        h, w, outside, occupied,
                        self.anywhere(h, w, region_idx, width, height))
                if pos is not None:
                    rect = [[pos[0], pos[1], pos[0] + w, pos[1] + h]]
                    occupied = np.vstack([occupied, rect])
                    in_group = np.vstack([in_group, rect])
                positions.append(pos)
        return positions

    def anywhere(self, h: int, w: int, region_idx: np.ndarray, width: int,
                 height: int) -> Tuple[np.ndarray, np.ndarray]:
        """Candidate corners at random region pixels, kept in the image."""
        if h > height or w > width:
            return np.empty(0, int), np.empty(0, int)
        flat = region_idx[self.rng.integers(len(region_idx),
                                            size=self.num_candidates)]
        y, x = np.divmod(flat, width)
        return np.minimum(x, width - w), np.minimum(y, height - h)

    def in_window(self, h: int, w: int, wx: int, wy: int,
                  size: int) -> Tuple[np.ndarray, np.ndarray]:
        """Candidate corners that keep an (h, w) target inside the window."""
        if h > size or w > size:
            return np.empty(0, int), np.empty(0, int)
        x = wx + self.rng.integers(size - w + 1, size=self.num_candidates)
        y = wy + self.rng.integers(size - h + 1, size=self.num_candidates)
        return x, y

    def find_window(self,
                    outside: np.ndarray,
                    occupied: np.ndarray,
                    region_idx: np.ndarray,
                    width: int,
                    height: int,
                    first_size: int = 0) -> Optional[Tuple[int, int, int]]:
        """A cluster window ``(x, y, size)`` wholly in the region and, grown
        by the margin, clear of targets, shrinking it from
        ``window_sizes[first_size]`` until one fits; None if none does."""
        for size in self.window_sizes[first_size:]:
            x, y = self.anywhere(size, size, region_idx, width, height)
            fits = (rect_sums(outside, x, y, size, size) == 0) & ~overlaps(
                x, y, size, size, occupied, self.margin)
            if fits.any():
                k = np.argmax(fits)
                return int(x[k]), int(y[k]), size
        return None

    def find_position(
            self, h: int, w: int, outside: Optional[np.ndarray],
            occupied: np.ndarray, candidates: Tuple[np.ndarray, np.ndarray]
    ) -> Optional[Tuple[int, int]]:
        """The first candidate corner where an (h, w) target fits: wholly in
        the region (unless ``outside`` is None: candidates known to be in
        it) and, grown by the margin, clear of ``occupied``."""
        x, y = candidates
        if len(x) == 0:
            return None
        fits = ~overlaps(x, y, w, h, occupied, self.margin)
        if outside is not None:
            fits &= rect_sums(outside, x, y, w, h) == 0
        if not fits.any():
            return None
        k = np.argmax(fits)
        return int(x[k]), int(y[k])

    def blend_weights(self, sizes: List[Tuple[int, int]]) -> List[np.ndarray]:
        """``lambda * G`` for targets of the given (h, w), float32 (h, w)
        each, computed for all targets in one vectorised pass.

        G is a rotated anisotropic Gaussian on the patch's [-1, 1]^2 grid,
        min-max normalised to [0, 1]; its sigmas, centre offsets and angle
        and lambda are drawn per target.
        """
        heights = np.array([h for h, _ in sizes])
        widths = np.array([w for _, w in sizes])
        lows, highs = self._blend_ranges
        sigma_x, sigma_y, mu_x, mu_y, angle, lam = self.rng.uniform(
            lows, highs, size=(len(sizes), 6)).T[:, :, None, None]
        grid = np.arange(max(heights.max(), widths.max()), dtype=np.float32)
        xs = grid[None, None, :] * (2 / np.maximum(widths - 1, 1))[:, None,
                                                                    None]
        ys = grid[None, :, None] * (2 / np.maximum(heights - 1, 1))[:, None,
                                                                     None]
        xs, ys = xs - (1 + mu_x), ys - (1 + mu_y)
        theta = np.radians(angle)
        cos, sin = np.cos(theta), np.sin(theta)
        xr, yr = cos * xs - sin * ys, sin * xs + cos * ys
        g = np.exp(-(xr * xr * (0.5 / sigma_x**2) + yr * yr *
                     (0.5 / sigma_y**2)))
        valid = ((grid[None, :, None] < heights[:, None, None]) &
                 (grid[None, None, :] < widths[:, None, None]))
        low = np.where(valid, g, np.inf).min(axis=(1, 2), keepdims=True)
        high = np.where(valid, g, -np.inf).max(axis=(1, 2), keepdims=True)
        span = high - low
        g = np.where(span > 0, (g - low) / np.where(span > 0, span, 1), 1.0)
        g = (g * lam).astype(np.float32)
        return [g[k, :h, :w] for k, (h, w) in enumerate(sizes)]

    def paste(self, results: dict, patch: np.ndarray, x: int, y: int,
              weight: Optional[np.ndarray], top: float) -> None:
        """Blend ``patch`` (h, w, C) into ``results['img']`` at (x, y): add
        ``weight * patch`` (h, w) clipped at ``top``, or copy it when
        ``weight`` is None."""
        img = results['img']
        h, w = patch.shape[:2]
        view = img[y:y + h, x:x + w]
        patch = patch.reshape(view.shape)
        if weight is None:
            view[...] = patch
        else:
            if view.ndim == 3:
                weight = weight[..., None]
            view[...] = np.clip(view + weight * patch, 0, top).astype(
                img.dtype)
        if self.seg_fill is not None:
            results['gt_seg_map'][y:y + h, x:x + w] = self.seg_fill

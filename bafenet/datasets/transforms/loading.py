"""Loading of frames (their bit depth), boxes, sky maps and target masks."""
import warnings

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import LoadAnnotations

from bafenet.registry import TRANSFORMS
from ..target_mask import DEFAULT_MASK_THRESHOLD, read_target_mask


class DarkFrameWarning(UserWarning):
    """A 16-bit frame whose values use far fewer bits than it is read as."""


def scale_bit_depth(img: np.ndarray,
                    bit_depth: int = 16,
                    name: str = 'an image') -> np.ndarray:
    """A frame as the 8-bit BGR image models take, from its stored values.

    8-bit values (uint8) are kept. 16-bit values (uint16) are taken as
    ``bit_depth``-bit ones and scaled: ``v`` becomes
    ``round(v * 255 / (2 ** bit_depth - 1))``, so 65535 (16-bit) or 16383
    (14-bit) is 255, and an 8-bit frame written as 14-bit values
    (``round(v * 16383 / 255)``) reads back exactly. Gray frames become
    three equal channels (as OpenCV's colour read makes them) and an alpha
    channel is dropped.

    Args:
        img (np.ndarray): (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA
            uint8 or uint16 values, as stored (OpenCV's ``unchanged`` read).
        bit_depth (int): The bits 16-bit values use, 8 to 16 (14 for a
            14-bit sensor's raw frames in 16-bit PNGs). Defaults to 16.
        name (str): The frame's name for errors and warnings.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR.

    Raises:
        ValueError: If the array is not uint8 or uint16 or has another
            shape, or a 16-bit value exceeds ``2 ** bit_depth - 1``; the
            message names the frame.

    Warns:
        DarkFrameWarning: If a 16-bit frame's values stay below
            ``2 ** (bit_depth - 2)`` (a 14-bit frame read as 16-bit reads
            dark, at most 64 of 255).
    """
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'{name}: {img.dtype} pixels; frames are uint8 or '
                         'uint16 (8- or 16-bit integers)')
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    elif img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    elif img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f'{name}: shape {img.shape}; frames are (H, W) '
                         'gray, (H, W, 3) BGR or (H, W, 4) BGRA')
    if img.dtype == np.uint8:
        return np.ascontiguousarray(img)
    top = 2**bit_depth - 1
    peak = int(img.max())
    if peak > top:
        raise ValueError(
            f'{name}: 16-bit values up to {peak}, beyond {bit_depth}-bit '
            f'frames (bit_depth={bit_depth}, at most {top}); set bit_depth '
            f'to the bits the camera gives, at least {peak.bit_length()} '
            '(docs/inference.md, "Input contract")')
    if peak < 2**(bit_depth - 2):
        warnings.warn(
            f'{name}: 16-bit values up to {peak} use {peak.bit_length()} of '
            f'the {bit_depth} bits they are scaled from (bit_depth='
            f'{bit_depth}), so the frame reads dark (at most '
            f'{round(peak * 255 / top)} of 255); if the camera gives '
            f'{peak.bit_length()}-bit values, set bit_depth to that '
            '(docs/inference.md, "Input contract")',
            DarkFrameWarning,
            stacklevel=2)
    return np.round(img.astype(np.float32) * (255 / top)).astype(np.uint8)


@TRANSFORMS.register_module()
class ScaleBitDepth(BaseTransform):
    """Make a frame the 8-bit BGR image the model takes
    (:func:`scale_bit_depth`): the input contract of a config.

    Pipelines load frames with ``LoadImageFromFile(color_type='unchanged')``,
    which keeps 16-bit values (OpenCV's colour read would keep the top 8
    bits of each, silently: a 14-bit frame would read as a dark 8-bit one),
    and scale them here, right after, so that every later step (resizing
    included) sees the 8-bit frame. It also takes the arrays given to the
    inferencers, gray ones too.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        bit_depth (int): The bits of 16-bit frames' values, 8 to 16: 16 for
            the full range, 14 for a 14-bit sensor's raw frames. 8-bit
            frames (DenseSIRST's PNGs) are kept as they are. Defaults to 16.
    """

    def __init__(self, bit_depth: int = 16) -> None:
        if not 8 <= bit_depth <= 16:
            raise ValueError(f'bit_depth must be 8 to 16, got {bit_depth}')
        self.bit_depth = bit_depth

    def transform(self, results: dict) -> dict:
        """Scale ``results['img']``; errors name ``img_path``."""
        results['img'] = scale_bit_depth(
            results['img'], self.bit_depth,
            results.get('img_path') or 'an input array')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(bit_depth={self.bit_depth})'


@TRANSFORMS.register_module()
class LoadDetSegAnnotations(LoadAnnotations):
    """Load boxes, labels, the sky map and (optionally) the target mask,
    and check the maps.

    The sky map is a palette PNG decoded with pillow (OpenCV would expand the
    palette to colours), so ``gt_seg_map`` holds class indices (0 others,
    1 sky). A sample whose ``seg_map_path`` is None (see
    ``DenseSIRSTDataset(allow_missing_seg=True)``) gets a map filled with
    ``ignore_index``, so that it batches with the others and adds nothing to
    the segmentation loss.

    With ``with_target_mask`` the binary target mask of ``mask_path`` (see
    ``DenseSIRSTDataset``'s ``mask`` folder) is loaded too, for the mask
    metrics; test pipelines load it after the resize, so it stays at the
    original size like the boxes.

    Added keys: ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``,
    ``gt_seg_map`` (uint8, (H, W)), ``ignore_index`` and, with
    ``with_target_mask``, ``gt_target_mask`` (bool, (H, W)).

    Args:
        num_seg_classes (int): Valid sky-map values are ``0 ..
            num_seg_classes - 1`` and ``ignore_index``. Defaults to 2.
        with_target_mask (bool): Load the target mask. Defaults to False.
        mask_threshold (int): The lowest target value of a target mask
            that is not strictly 0/255 or 0/1, as in the dataset's
            ``mask_threshold`` (see
            :func:`~bafenet.datasets.read_target_mask`). Defaults to 128.
        **kwargs: Passed to mmdet's ``LoadAnnotations``; ``with_bbox`` and
            ``with_seg`` default to True and ``imdecode_backend`` to
            ``'pillow'``.

    Raises:
        ValueError: If a sky map's or target mask's size differs from the
            loaded image's, a sky map holds values outside the valid ones, a
            target mask cannot be read by the threshold rule, or a sample
            has no target mask; the message names the file.
    """

    def __init__(self,
                 num_seg_classes: int = 2,
                 with_target_mask: bool = False,
                 mask_threshold: int = DEFAULT_MASK_THRESHOLD,
                 **kwargs):
        kwargs.setdefault('with_bbox', True)
        kwargs.setdefault('with_seg', True)
        kwargs.setdefault('imdecode_backend', 'pillow')
        super().__init__(**kwargs)
        self.num_seg_classes = num_seg_classes
        self.with_target_mask = with_target_mask
        self.mask_threshold = mask_threshold

    def transform(self, results: dict) -> dict:
        """Load the annotations the options ask for."""
        results = super().transform(results)
        if self.with_target_mask:
            self._load_target_mask(results)
        return results

    def _load_target_mask(self, results: dict) -> None:
        path = results.get('mask_path')
        if path is None:
            raise ValueError(
                f'{results.get("img_path")}: no target mask; '
                'with_target_mask=True needs a dataset with a "mask" folder '
                'in its data_prefix')
        mask, problems, _ = read_target_mask(path, self.backend_args,
                                             self.mask_threshold)
        if problems:
            raise ValueError(problems[0])
        shape = results.get('ori_shape') or (results['height'],
                                             results['width'])
        if mask.shape != tuple(shape[:2]):
            raise ValueError(
                f'{path}: target mask shape {mask.shape} differs from the '
                f'image shape {tuple(shape[:2])}')
        results['gt_target_mask'] = mask

    def _load_seg_map(self, results: dict) -> None:
        path = results.get('seg_map_path')
        if path is None:
            shape = results.get('ori_shape') or (results['height'],
                                                 results['width'])
            results['gt_seg_map'] = np.full(shape[:2], self.ignore_index,
                                            np.uint8)
            results['ignore_index'] = self.ignore_index
            return
        super()._load_seg_map(results)
        seg = results['gt_seg_map']
        # ori_shape: the loader may run after a Resize (test pipelines keep
        # the ground truth at the original size).
        if 'ori_shape' in results and seg.shape != tuple(
                results['ori_shape'][:2]):
            raise ValueError(
                f'{path}: sky map shape {seg.shape} differs from the image '
                f'shape {tuple(results["ori_shape"][:2])}')
        invalid = (seg >= self.num_seg_classes) & (seg != self.ignore_index)
        if invalid.any():
            bad = np.unique(seg[invalid])
            raise ValueError(
                f'{path}: sky map holds values {bad.tolist()}; expected class '
                f'indices 0..{self.num_seg_classes - 1} or {self.ignore_index}'
                ' (is it a palette PNG read with imdecode_backend="pillow"?)')

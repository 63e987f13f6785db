"""Loading of boxes, sky maps and target masks."""
import numpy as np
from mmdet.datasets.transforms import LoadAnnotations

from bafenet.registry import TRANSFORMS
from ..target_mask import DEFAULT_MASK_THRESHOLD, read_target_mask


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

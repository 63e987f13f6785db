"""Infrared small-target datasets annotated with binary target masks."""
from bafenet.registry import DATASETS
from .densesirst import DenseSIRSTDataset
from .layout import MASK_SIRST_LAYOUT


@DATASETS.register_module()
class MaskSIRSTDataset(DenseSIRSTDataset):
    """A dataset of images and binary target masks, boxes derived from the
    masks: NUAA-SIRST, NUDT-SIRST, IRSTD-1k, SIRST-V2 and the like.

    Default layout under ``data_root`` (BasicIRSTD's,
    :data:`~bafenet.datasets.layout.MASK_SIRST_LAYOUT`; folder names,
    suffixes and the split file are arguments, see
    ``configs/_base_/datasets/``)::

        img_idx/<split>.txt     one image id per line (``ann_file``)
        images/<id>.png         the infrared image
        masks/<id>.png          the target mask: 0 background, 255 (or 1)
                                target; other values: target where
                                >= mask_threshold (128)

    Each 8-connected component of a mask becomes one box of class
    ``Target`` (``cv2.connectedComponentsWithStats``; its first and last
    pixel column and row, 0-based inclusive), so targets whose pixels touch,
    diagonally included, merge into one box. An all-zero mask is an image
    without targets: kept for testing, dropped from training by
    ``filter_cfg=dict(filter_empty_gt=True)``, as an XML without objects.
    The mask path goes into the data info (``mask_path``) so that the test
    pipeline can load it for the mask metrics.

    Sky maps are optional: give a ``seg`` folder in ``data_prefix`` (with
    ``allow_missing_seg=True`` if only some images have one); without one
    every image's sky map is the ignore index, which adds nothing to the
    sky loss of a model with a sky branch.

    Masks are read as released (:func:`~bafenet.datasets.read_target_mask`):
    0/255 and 0/1 masks as they are, other masks as target where the value
    is ``>= mask_threshold`` (counted in a warning when the dataset is
    built), RGB(A) masks with equal colour channels as grayscale.
    Validation and errors are those of :class:`DenseSIRSTDataset`, plus: a
    missing mask, a mask whose colour channels differ, a 16-bit mask with
    values above 255, a mask whose non-zero values all lie below the
    threshold, and a mask of another size than its image are each a
    :class:`~bafenet.datasets.DatasetError` naming the file.

    Args:
        data_prefix (dict, optional): Folders relative to ``data_root``:
            ``img``, ``mask`` and optionally ``seg``. Defaults to the
            layout's, ``dict(img='images', mask='masks')``.
        **kwargs: Arguments of :class:`DenseSIRSTDataset` (``ann_file``,
            ``img_suffix``, ``mask_suffix``, ``seg_suffix``,
            ``allow_missing_seg``, ...); ``boxes_from`` is ``'mask'``.
    """

    LAYOUT = MASK_SIRST_LAYOUT
    DEFAULT_FOLDERS = ('img', 'mask')

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('boxes_from', 'mask')
        super().__init__(*args, **kwargs)

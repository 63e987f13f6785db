"""The DenseSIRST dataset: VOC-style boxes plus per-pixel sky maps."""
from typing import List

from mmdet.datasets import BaseDetDataset

from bafenet.registry import DATASETS
from .validation import DatasetError, DenseSIRSTValidator


@DATASETS.register_module()
class DenseSIRSTDataset(BaseDetDataset):
    """DenseSIRST (and any dataset in its ``SIRSTdevkit`` layout).

    Layout under ``data_root`` (folder names and suffixes are arguments)::

        Splits/<split>.txt              one image id per line (``ann_file``)
        PNGImages/<id>.png              the infrared image
        SIRST/BBox/<id>.xml             VOC boxes, class ``Target``
        SkySeg/PaletteMask/<id>.png     palette sky map: 0 others, 1 sky

    A ``mask`` folder in ``data_prefix`` (DenseSIRST's own is
    ``SIRST/BinaryMask`` with ``mask_suffix='_pixels0.png'``) adds each
    image's binary target mask (``mask_path``), for the mask metrics of
    :class:`~bafenet.evaluation.DenseSIRSTMetric`; with
    ``boxes_from='mask'`` the boxes are the mask's 8-connected components
    instead of the XML's (see :class:`MaskSIRSTDataset` for datasets that
    have masks only).

    Every sample is validated when the dataset is built, by the same
    :class:`~bafenet.datasets.validation.DenseSIRSTValidator` that
    ``tools/misc/check_dataset.py`` runs: a missing, truncated or unreadable
    file, malformed XML, an unknown class, a box outside its image or with
    no area, a sky map or target mask of another size than its image, a sky
    map with values other than class indices, a target mask with values
    other than 0/255 or 0/1, and a duplicate id in the split each raise
    :class:`DatasetError` naming the file and the problem (all problems of
    the split at once). Files are read through ``mmengine.fileio`` with
    ``backend_args``, so the dataset may live on remote storage.

    Args:
        ann_file (str): The split file, relative to ``data_root``.
        data_prefix (dict): Folders relative to ``data_root``: ``img``
            (images), ``ann`` (box XMLs), ``seg`` (sky maps; leave it out
            for a dataset without any) and, optionally, ``mask`` (binary
            target masks).
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        ann_suffix (str): Box annotation suffix. Defaults to ``'.xml'``.
        seg_suffix (str): Sky map suffix. Defaults to ``'.png'``.
        mask_suffix (str): Target mask suffix. Defaults to ``'.png'``.
        boxes_from (str): ``'xml'`` or ``'mask'`` (one box per 8-connected
            component of the target mask: its first and last pixel column
            and row, 0-based inclusive). Defaults to ``'xml'``.
        allow_missing_seg (bool): Accept images without a sky map; their
            ``seg_map_path`` is None and the loader fills the map with the
            ignore index. Defaults to False.
        check_images (bool): Check each image file's existence, readability
            and size. With False only annotations are read and boxes are
            checked against the XML ``<size>`` (for statistics over splits
            whose images are not all present). Defaults to True.
        minus_one (bool): Subtract 1 from VOC XML coordinates like mmdet's
            ``XMLDataset``. Defaults to True.
    """

    METAINFO = {
        'classes': ('Target', ),
        'palette': [(0, 255, 0)],
        'seg_classes': ('others', 'sky'),
        'seg_palette': [(0, 0, 0), (128, 0, 0)],
    }

    def __init__(self,
                 *args,
                 data_prefix: dict = dict(
                     img='PNGImages', ann='SIRST/BBox',
                     seg='SkySeg/PaletteMask'),
                 img_suffix: str = '.png',
                 ann_suffix: str = '.xml',
                 seg_suffix: str = '.png',
                 mask_suffix: str = '.png',
                 boxes_from: str = 'xml',
                 allow_missing_seg: bool = False,
                 check_images: bool = True,
                 minus_one: bool = True,
                 **kwargs):
        self.img_suffix = img_suffix
        self.ann_suffix = ann_suffix
        self.seg_suffix = seg_suffix
        self.mask_suffix = mask_suffix
        self.boxes_from = boxes_from
        self.allow_missing_seg = allow_missing_seg
        self.check_images = check_images
        self.minus_one = minus_one
        super().__init__(*args, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse and validate every sample of the split.

        Raises:
            DatasetError: Listing every problem of the split.
        """
        data_list, problems = self.validator().check_split(self.ann_file)
        if problems:
            raise DatasetError(problems)
        return data_list

    def validator(self) -> DenseSIRSTValidator:
        """The validator of this dataset's folders, suffixes and options."""
        return DenseSIRSTValidator(
            img_dir=self.data_prefix['img'],
            ann_dir=self.data_prefix.get('ann'),
            seg_dir=self.data_prefix.get('seg'),
            mask_dir=self.data_prefix.get('mask'),
            classes=self._metainfo['classes'],
            num_seg_classes=len(self._metainfo['seg_classes']),
            img_suffix=self.img_suffix,
            ann_suffix=self.ann_suffix,
            seg_suffix=self.seg_suffix,
            mask_suffix=self.mask_suffix,
            boxes_from=self.boxes_from,
            allow_missing_seg=self.allow_missing_seg,
            check_images=self.check_images,
            minus_one=self.minus_one,
            backend_args=self.backend_args)

    def filter_data(self) -> List[dict]:
        """Drop images without ground truth if ``filter_empty_gt`` is set."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        return [
            info for info in self.data_list
            if (not filter_empty_gt or info['instances'])
            and min(info['width'], info['height']) >= min_size
        ]

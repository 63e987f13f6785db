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

    Every sample is validated when the dataset is built, by the same
    :class:`~bafenet.datasets.validation.DenseSIRSTValidator` that
    ``tools/misc/check_dataset.py`` runs: a missing, truncated or unreadable
    file, malformed XML, an unknown class, a box outside its image or with
    no area, a sky map of another size than its image or with values other
    than class indices, and a duplicate id in the split each raise
    :class:`DatasetError` naming the file and the problem (all problems of
    the split at once).

    Args:
        ann_file (str): The split file, relative to ``data_root``.
        data_prefix (dict): Folders relative to ``data_root``: ``img``
            (images), ``ann`` (box XMLs) and ``seg`` (sky maps).
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        ann_suffix (str): Box annotation suffix. Defaults to ``'.xml'``.
        seg_suffix (str): Sky map suffix. Defaults to ``'.png'``.
        allow_missing_seg (bool): Accept images without a sky map; their
            ``seg_map_path`` is None and the loader fills the map with the
            ignore index. Defaults to False.
        check_images (bool): Check each image file's existence, readability
            and size. With False only annotations are read and boxes are
            checked against the XML ``<size>`` (for statistics over splits
            whose images are not all present). Defaults to True.
        minus_one (bool): Subtract 1 from VOC coordinates like mmdet's
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
                 allow_missing_seg: bool = False,
                 check_images: bool = True,
                 minus_one: bool = True,
                 **kwargs):
        self.img_suffix = img_suffix
        self.ann_suffix = ann_suffix
        self.seg_suffix = seg_suffix
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
            ann_dir=self.data_prefix['ann'],
            seg_dir=self.data_prefix['seg'],
            classes=self._metainfo['classes'],
            num_seg_classes=len(self._metainfo['seg_classes']),
            img_suffix=self.img_suffix,
            ann_suffix=self.ann_suffix,
            seg_suffix=self.seg_suffix,
            allow_missing_seg=self.allow_missing_seg,
            check_images=self.check_images,
            minus_one=self.minus_one)

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

"""The DenseSIRST dataset: VOC-style boxes plus per-pixel sky maps."""
import logging
from typing import Any, List, Optional

from mmdet.datasets import BaseDetDataset
from mmengine.logging import print_log

from bafenet.registry import DATASETS
from .layout import DENSESIRST_LAYOUT
from .target_mask import DEFAULT_MASK_THRESHOLD
from .validation import DatasetError, DenseSIRSTValidator, SampleLoadError


@DATASETS.register_module()
class DenseSIRSTDataset(BaseDetDataset):
    """DenseSIRST (and any dataset in its ``SIRSTdevkit`` layout).

    Layout under ``data_root`` (:data:`~bafenet.datasets.layout.
    DENSESIRST_LAYOUT`, the ``LAYOUT`` of the class; folder names and
    suffixes are arguments)::

        Splits/<split>.txt                  one image id per line
        PNGImages/<id>.png                  the infrared image
        SIRST/BBox/<id>.xml                 VOC boxes, class ``Target``
        SkySeg/PaletteMask/<id>.png         palette sky map: 0 others, 1 sky
        SIRST/BinaryMask/<id>_pixels0.png   binary target mask

    A ``mask`` folder in ``data_prefix`` (``target_masks=True`` adds the
    layout's) adds each image's binary target mask (``mask_path``), for the
    mask metrics of
    :class:`~bafenet.evaluation.DenseSIRSTMetric`; with
    ``boxes_from='mask'`` the boxes are the mask's 8-connected components
    instead of the XML's (see :class:`MaskSIRSTDataset` for datasets that
    have masks only).

    Every sample is validated when the dataset is built, by the same
    :class:`~bafenet.datasets.validation.DenseSIRSTValidator` that
    ``tools/misc/check_dataset.py`` runs: a missing file or broken symbolic
    link, a truncated, corrupt or undecodable image (every pixel is
    decoded), an image with an EXIF orientation, a split file that is not
    UTF-8, malformed XML, an unknown class, a box outside its image or with
    no area, a sky map or target mask of another size than its image, a sky
    map with values other than class indices, a target mask the threshold
    cannot read (see :func:`~bafenet.datasets.read_target_mask`), and a
    duplicate id in the split each raise :class:`DatasetError` naming the
    file and the problem (all problems of the split at once). Target masks
    that are not strictly 0/255 or 0/1 are read by ``mask_threshold`` and
    counted in a warning of the log. Files are read through
    ``mmengine.fileio`` with ``backend_args``, so the dataset may live on
    remote storage. When a sample's pipeline fails, the
    :class:`~bafenet.datasets.validation.SampleLoadError` names the split,
    the sample and its image.

    Args:
        ann_file (str): The split file, relative to ``data_root``.
        data_prefix (dict, optional): Folders relative to ``data_root``:
            ``img`` (images), ``ann`` (box XMLs), ``seg`` (sky maps; leave
            it out for a dataset without any) and, optionally, ``mask``
            (binary target masks). Defaults to the layout's
            (``DEFAULT_FOLDERS``).
        target_masks (bool): Add the layout's target mask folder to
            ``data_prefix`` when it has none. Defaults to False.
        img_suffix, ann_suffix, seg_suffix, mask_suffix (str, optional):
            What follows the image id in the names of the images, box XMLs,
            sky maps and target masks. Default to the layout's.
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
        box_convention (str): ``'voc'``: 1 is subtracted from every XML
            number, like mmdet's ``XMLDataset`` and the original code (the
            paper's protocol; on DenseSIRST, whose XMLs are 0-based and
            end-exclusive, every box then lies 1 px up and left of its
            target); ``'pixel'``: the boxes as the 0-based, end-exclusive
            pixel boxes DenseSIRST's XMLs hold (``x1`` the first pixel
            column, ``x2`` the last plus one), which is what mmdet's flips
            and crops assume. Mask boxes follow the same rule (``'voc'``:
            last pixel inclusive; ``'pixel'``: last pixel plus one).
            Defaults to ``'voc'``.
        mask_threshold (int): The lowest target value of a target mask that
            is not strictly 0/255 or 0/1 (the field's 128). Defaults to 128.
    """

    #: Where the files are (folders and suffixes).
    LAYOUT = DENSESIRST_LAYOUT
    #: The ``data_prefix`` keys of the default folders.
    DEFAULT_FOLDERS = ('img', 'ann', 'seg')

    METAINFO = {
        'classes': ('Target', ),
        'palette': [(0, 255, 0)],
        'seg_classes': ('others', 'sky'),
        'seg_palette': [(0, 0, 0), (128, 0, 0)],
    }

    def __init__(self,
                 *args,
                 data_prefix: Optional[dict] = None,
                 target_masks: bool = False,
                 img_suffix: Optional[str] = None,
                 ann_suffix: Optional[str] = None,
                 seg_suffix: Optional[str] = None,
                 mask_suffix: Optional[str] = None,
                 boxes_from: str = 'xml',
                 allow_missing_seg: bool = False,
                 check_images: bool = True,
                 box_convention: str = 'voc',
                 mask_threshold: int = DEFAULT_MASK_THRESHOLD,
                 **kwargs):
        suffixes = self.LAYOUT.suffixes
        self.img_suffix = img_suffix or suffixes['img']
        self.ann_suffix = ann_suffix or suffixes['ann']
        self.seg_suffix = seg_suffix or suffixes['seg']
        self.mask_suffix = mask_suffix or suffixes['mask']
        if data_prefix is None:
            data_prefix = self.LAYOUT.data_prefix(*self.DEFAULT_FOLDERS)
        if target_masks and 'mask' not in data_prefix:
            data_prefix = dict(data_prefix, **self.LAYOUT.data_prefix('mask'))
        self.boxes_from = boxes_from
        self.allow_missing_seg = allow_missing_seg
        self.check_images = check_images
        self.box_convention = box_convention
        self.mask_threshold = mask_threshold
        super().__init__(*args, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse and validate every sample of the split; log how target
        masks were read where the threshold decided.

        Raises:
            DatasetError: Listing every problem of the split.
        """
        data_list, problems, notes = self.validator().check_split(
            self.ann_file)
        if problems:
            raise DatasetError(problems)
        for note in notes:
            print_log(f'{self.ann_file}: {note}', 'current', logging.WARNING)
        return data_list

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on sample ``idx``.

        Raises:
            SampleLoadError: If the pipeline fails (an image that cannot be
                read, say); the message names the split, the sample and its
                image, and the original error is its cause.
        """
        data_info = self.get_data_info(idx)
        try:
            return self.pipeline(data_info)
        except Exception as err:
            raise SampleLoadError(
                f'{self.ann_file}: sample {data_info["img_id"]!r} '
                f'({data_info["img_path"]}) failed to load: '
                f'{type(err).__name__}: {err}') from err

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
            box_convention=self.box_convention,
            mask_threshold=self.mask_threshold,
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

"""The DenseSIRST dataset: VOC-style boxes plus per-pixel sky maps."""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List

from mmdet.datasets import BaseDetDataset
from mmengine.fileio import get_local_path, list_from_file
from PIL import Image, UnidentifiedImageError

from bafenet.registry import DATASETS


class DatasetError(ValueError):
    """Raised when a dataset's files are missing or malformed.

    Args:
        problems (list[str]): One ``'<file>: <problem>'`` line per problem.
        max_listed (int): How many problems the message lists in full.
    """

    def __init__(self, problems: List[str], max_listed: int = 20):
        self.problems = list(problems)
        listed = '\n  '.join(self.problems[:max_listed])
        more = len(self.problems) - max_listed
        tail = f'\n  ... and {more} more' if more > 0 else ''
        super().__init__(
            f'{len(self.problems)} problem(s) in the dataset:\n  {listed}'
            f'{tail}')


class SampleError(ValueError):
    """One problem with one file of one sample."""

    def __init__(self, path: str, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f'{path}: {problem}')


def png_size(path: str, what: str) -> tuple:
    """``(width, height)`` from a PNG's header, without decoding pixels.

    Raises:
        SampleError: If the file is missing or not a readable image.
    """
    if not osp.isfile(path):
        raise SampleError(path, f'missing {what}')
    try:
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, OSError) as err:
        raise SampleError(path, f'unreadable {what} ({err})') from err


def parse_voc_boxes(path: str, classes: tuple):
    """Read a VOC XML file into its declared size and object list.

    Args:
        path (str): The XML file.
        classes (tuple[str]): Known class names.

    Returns:
        tuple: ``(size, objects)`` where ``size`` is ``(width, height)`` from
        ``<size>`` (None if absent) and ``objects`` is a list of
        ``(name, [xmin, ymin, xmax, ymax], difficult)`` with raw XML values.

    Raises:
        SampleError: Missing or malformed file, unknown class name.
    """
    if not osp.isfile(path):
        raise SampleError(path, 'missing annotation XML')
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise SampleError(path, f'malformed XML ({err})') from err
    try:
        size_node = root.find('size')
        size = None if size_node is None else (
            int(size_node.find('width').text),
            int(size_node.find('height').text))
        objects = []
        for obj in root.findall('object'):
            bnd = obj.find('bndbox')
            box = [
                float(bnd.find(key).text)
                for key in ('xmin', 'ymin', 'xmax', 'ymax')
            ]
            difficult = obj.find('difficult')
            difficult = difficult is not None and int(difficult.text) == 1
            objects.append((obj.find('name').text, box, difficult))
    except (AttributeError, TypeError, ValueError) as err:
        raise SampleError(
            path, f'malformed XML: missing or non-numeric field ({err})')
    for name, _, _ in objects:
        if name not in classes:
            raise SampleError(
                path, f'unknown class name {name!r} (known: '
                f'{", ".join(classes)})')
    return size, objects


@DATASETS.register_module()
class DenseSIRSTDataset(BaseDetDataset):
    """DenseSIRST (and any dataset in its ``SIRSTdevkit`` layout).

    Layout under ``data_root`` (folder names and suffixes are arguments)::

        Splits/<split>.txt              one image id per line (``ann_file``)
        PNGImages/<id>.png              the infrared image
        SIRST/BBox/<id>.xml             VOC boxes, class ``Target``
        SkySeg/PaletteMask/<id>.png     palette sky map: 0 others, 1 sky

    Every sample is validated when the dataset is built: a missing or
    unreadable file, malformed XML, an unknown class, a box outside its image
    and a sky map of another size than its image each raise
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

    def load_split(self) -> List[str]:
        """Image ids of the split file, in order."""
        if not osp.isfile(self.ann_file):
            raise DatasetError([f'{self.ann_file}: missing split file'])
        with get_local_path(self.ann_file) as local:
            ids = [line.strip() for line in list_from_file(local)]
        ids = [i for i in ids if i]
        if not ids:
            raise DatasetError([f'{self.ann_file}: the split lists no ids'])
        return ids

    def load_data_list(self) -> List[dict]:
        """Parse and validate every sample of the split."""
        data_list, problems = [], []
        for img_id in self.load_split():
            try:
                data_list.append(self.parse_sample(img_id))
            except SampleError as err:
                problems.append(str(err))
        if problems:
            raise DatasetError(problems)
        return data_list

    def parse_sample(self, img_id: str) -> dict:
        """Build one sample's data info, validating its files.

        Args:
            img_id (str): The image id.

        Returns:
            dict: ``img_id``, ``img_path``, ``seg_map_path`` (or None),
            ``width``, ``height`` and ``instances`` (``bbox`` as
            ``[x1, y1, x2, y2]``, ``bbox_label``, ``ignore_flag``).

        Raises:
            SampleError: The first problem found with this sample.
        """
        img_path = osp.join(self.data_prefix['img'], img_id + self.img_suffix)
        xml_path = osp.join(self.data_prefix['ann'], img_id + self.ann_suffix)
        seg_path = osp.join(self.data_prefix['seg'], img_id + self.seg_suffix)

        xml_size, objects = parse_voc_boxes(xml_path,
                                            self._metainfo['classes'])
        if self.check_images:
            width, height = png_size(img_path, 'image')
        elif xml_size is not None:
            width, height = xml_size
        else:
            raise SampleError(xml_path, 'no <size> and check_images=False')

        if osp.isfile(seg_path):
            seg_size = png_size(seg_path, 'sky map')
            if seg_size != (width, height):
                raise SampleError(
                    seg_path, f'sky map size {seg_size[0]}x{seg_size[1]} '
                    f'differs from its image size {width}x{height}')
        elif self.allow_missing_seg:
            seg_path = None
        else:
            raise SampleError(
                seg_path, 'missing sky map (set allow_missing_seg=True to '
                'train on images without one)')

        instances = []
        for _, box, difficult in objects:
            x1, y1, x2, y2 = box
            # VOC boxes are 1-based and inclusive: 1 <= x1 <= x2 <= width.
            if not (1 <= x1 <= x2 <= width and 1 <= y1 <= y2 <= height):
                raise SampleError(
                    xml_path, f'box {[int(v) for v in box]} lies outside '
                    f'the {width}x{height} image or is inverted')
            if self.minus_one:
                box = [v - 1 for v in box]
            instances.append(
                dict(bbox=box, bbox_label=0, ignore_flag=int(difficult)))
        return dict(
            img_id=img_id,
            img_path=img_path,
            seg_map_path=seg_path,
            width=width,
            height=height,
            instances=instances)

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

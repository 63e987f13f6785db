"""Validation of datasets in the DenseSIRST layout and of mask-annotated
infrared small-target datasets.

One implementation serves :class:`~bafenet.datasets.DenseSIRSTDataset` and
:class:`~bafenet.datasets.MaskSIRSTDataset` (which validate their split when
they are built) and ``tools/misc/check_dataset.py`` (which validates whole
datasets). Every problem is a line ``'<file>: <problem>'`` (``'<split
file>:<line>: ...'`` for problems of a split file), and all problems are
collected rather than the first one raised. Files are read through
``mmengine.fileio`` with the dataset's ``backend_args``, so local folders and
remote storage (petrel, S3, HTTP) are checked alike.
"""
import io
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

#: Sky-map modes that hold one class index per pixel.
SEG_MODES = ('P', 'L')
#: Target-mask modes: 1-bit, grayscale or palette, one value per pixel.
MASK_MODES = ('1', 'L', 'P')
#: Where a sample's boxes come from.
BOX_SOURCES = ('xml', 'mask')


class DatasetError(ValueError):
    """Raised when a dataset's files are missing or malformed.

    Args:
        problems (list[str]): One ``'<file>: <problem>'`` line per problem.
        max_listed (int): How many problems the message lists in full.
            Defaults to 20.
    """

    def __init__(self, problems: List[str], max_listed: int = 20):
        self.problems = list(problems)
        listed = '\n  '.join(self.problems[:max_listed])
        more = len(self.problems) - max_listed
        tail = f'\n  ... and {more} more' if more > 0 else ''
        super().__init__(
            f'{len(self.problems)} problem(s) in the dataset:\n  {listed}'
            f'{tail}')


def read_split(split_file: str,
               backend_args: Optional[dict] = None
               ) -> Tuple[List[Tuple[int, str]], List[str]]:
    """Read a split file: one image id per line.

    Blank lines are skipped; a repeated id is a problem, and only its first
    occurrence is kept.

    Args:
        split_file (str): The split file.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        tuple: The ``(line number, id)`` entries in order, and the problems.
    """
    if not fileio.isfile(split_file, backend_args=backend_args):
        return [], [f'{split_file}: missing split file']
    lines = fileio.get_text(
        split_file, backend_args=backend_args).splitlines()
    entries, first_line, problems = [], {}, []
    for number, line in enumerate(lines, 1):
        img_id = line.strip()
        if not img_id:
            continue
        if img_id in first_line:
            problems.append(f'{split_file}:{number}: duplicate id {img_id!r} '
                            f'(first on line {first_line[img_id]})')
            continue
        first_line[img_id] = number
        entries.append((number, img_id))
    if not entries and not problems:
        problems.append(f'{split_file}: the split lists no ids')
    return entries, problems


def parse_voc_xml(path: str,
                  backend_args: Optional[dict] = None
                  ) -> Tuple[Optional[tuple], List[tuple]]:
    """Read a VOC XML file into its declared size and object list.

    Args:
        path (str): The XML file, which must exist.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        tuple: ``(size, objects)``: ``size`` is ``(width, height)`` from
        ``<size>`` (None if absent), ``objects`` a list of
        ``(name, [xmin, ymin, xmax, ymax], difficult)`` with raw XML values.

    Raises:
        ValueError: Malformed XML or a missing or non-numeric field; the
            message names the problem, not the file.
    """
    try:
        root = ET.fromstring(fileio.get(path, backend_args=backend_args))
    except ET.ParseError as err:
        raise ValueError(f'malformed XML ({err})') from err
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
        raise ValueError(
            f'malformed XML: missing or non-numeric field ({err})') from err
    return size, objects


def image_size(path: str,
               what: str,
               backend_args: Optional[dict] = None
               ) -> Tuple[Optional[tuple], List[str]]:
    """Check that a file is a complete, readable image and read its size.

    ``Image.verify`` checks the whole file (for PNG, every chunk's checksum),
    so truncated and corrupt files are found without decoding the pixels.

    Args:
        path (str): The image file.
        what (str): What the file is, for the messages (``'image'``).
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        tuple: ``(width, height)`` or None, and the problems.
    """
    if not fileio.isfile(path, backend_args=backend_args):
        return None, [f'{path}: missing {what}']
    try:
        with Image.open(io.BytesIO(
                fileio.get(path, backend_args=backend_args))) as img:
            size = img.size
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return None, [f'{path}: unreadable {what} ({err})']
    return size, []


def read_target_mask(path: str,
                     backend_args: Optional[dict] = None
                     ) -> Tuple[Optional[np.ndarray], List[str]]:
    """Read a binary target mask and check its mode and values.

    A mask is a single-channel PNG (1-bit, grayscale or palette) whose
    values are either all in {0, 255} or all in {0, 1}; any non-zero pixel
    is a target pixel. An all-zero mask is valid: an image without targets.

    Args:
        path (str): The mask file, which must exist.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        tuple: The mask as a (H, W) bool array (None on a problem), and the
        problems.
    """
    try:
        with Image.open(io.BytesIO(
                fileio.get(path, backend_args=backend_args))) as img:
            img.load()
            mode = img.mode
            values = np.asarray(img) if mode in MASK_MODES else None
    except (UnidentifiedImageError, OSError, SyntaxError,
            ValueError) as err:
        return None, [f'{path}: unreadable target mask ({err})']
    if values is None:
        return None, [
            f'{path}: target mask has mode {mode!r}; expected a '
            'single-channel (1-bit, grayscale or palette) PNG'
        ]
    # a binary mask: 0 and one of 1 or 255 (checked without sorting it)
    top = values.max()
    if top not in (0, 1, 255) or ((values != 0) & (values != top)).any():
        present = set(np.unique(values).tolist())
        return None, [
            f'{path}: target mask holds values {sorted(present)}; expected '
            'a binary mask of 0/255 or of 0/1'
        ]
    return values > 0, []


def mask_boxes(mask: np.ndarray) -> np.ndarray:
    """One box per 8-connected component of a binary target mask.

    Pixels that touch, diagonally included, belong to one component, so two
    targets whose masks touch become one box.

    Args:
        mask (np.ndarray): (H, W) bool target mask.

    Returns:
        np.ndarray: (N, 4) float32 boxes ``[x1, y1, x2, y2]``: the first
        and last pixel column and row of each component (0-based,
        inclusive; what a VOC XML box gives after the 1 is subtracted),
        in raster order of each component's first pixel.
    """
    _, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask.astype(np.uint8), 8, cv2.CV_32S, cv2.CCL_WU)
    x, y, w, h = stats[1:, :4].T
    return np.stack([x, y, x + w - 1, y + h - 1], axis=1).astype(np.float32)


class DenseSIRSTValidator:
    """Checks the files of samples and splits in the DenseSIRST layout or in
    a mask-annotated layout.

    Args:
        img_dir (str): Image folder.
        ann_dir (str, optional): Folder of the VOC box XMLs; needed when
            ``boxes_from='xml'``.
        seg_dir (str, optional): Folder of the sky maps; None when the
            dataset has none (every sample then has ``seg_map_path`` None).
        classes (Sequence[str]): Known box class names; boxes from masks
            get the first one.
        num_seg_classes (int): Valid sky-map values are ``0 ..
            num_seg_classes - 1`` and ``seg_ignore_index``.
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        ann_suffix (str): Box annotation suffix. Defaults to ``'.xml'``.
        seg_suffix (str): Sky map suffix. Defaults to ``'.png'``.
        allow_missing_seg (bool): Accept samples without a sky map. Defaults
            to False.
        check_images (bool): Check the image files; with False, boxes and
            maps are checked against the XML ``<size>`` (or, without XML,
            the mask's size). Defaults to True.
        minus_one (bool): Subtract 1 from the 1-based VOC coordinates in the
            returned XML boxes. Defaults to True.
        seg_ignore_index (int): The sky-map value of unlabelled pixels.
            Defaults to 255.
        mask_dir (str, optional): Folder of the binary target masks (see
            :func:`read_target_mask`); their paths go into the data infos as
            ``mask_path``. Defaults to None (no masks).
        mask_suffix (str): Target mask suffix. Defaults to ``'.png'``.
        boxes_from (str): ``'xml'`` (VOC XMLs) or ``'mask'`` (one box per
            8-connected mask component, see :func:`mask_boxes`). Defaults
            to ``'xml'``.
        backend_args (dict, optional): ``mmengine.fileio`` backend
            arguments. Defaults to None (local files).
    """

    def __init__(self,
                 img_dir: str,
                 ann_dir: Optional[str],
                 seg_dir: Optional[str],
                 classes: Sequence[str],
                 num_seg_classes: int,
                 img_suffix: str = '.png',
                 ann_suffix: str = '.xml',
                 seg_suffix: str = '.png',
                 allow_missing_seg: bool = False,
                 check_images: bool = True,
                 minus_one: bool = True,
                 seg_ignore_index: int = 255,
                 mask_dir: Optional[str] = None,
                 mask_suffix: str = '.png',
                 boxes_from: str = 'xml',
                 backend_args: Optional[dict] = None):
        if boxes_from not in BOX_SOURCES:
            raise ValueError(f'boxes_from must be one of {BOX_SOURCES}, got '
                             f'{boxes_from!r}')
        needed = ann_dir if boxes_from == 'xml' else mask_dir
        if needed is None:
            raise ValueError(
                f'boxes_from={boxes_from!r} needs the '
                f'{"ann" if boxes_from == "xml" else "mask"} folder '
                '(data_prefix)')
        folders = dict(
            image=(img_dir, img_suffix),
            annotation=(ann_dir if boxes_from == 'xml' else None, ann_suffix),
            seg=(seg_dir, seg_suffix),
            mask=(mask_dir, mask_suffix))
        self.folders = {
            kind: folder
            for kind, folder in folders.items() if folder[0] is not None
        }
        self.classes = tuple(classes)
        self.num_seg_classes = num_seg_classes
        self.allow_missing_seg = allow_missing_seg
        self.check_images = check_images
        self.minus_one = minus_one
        self.seg_ignore_index = seg_ignore_index
        self.boxes_from = boxes_from
        self.backend_args = backend_args

    def paths(self, img_id: str) -> Dict[str, Optional[str]]:
        """The image, annotation, sky map and mask paths of one sample
        (None for a kind of file the dataset does not have)."""
        paths = dict.fromkeys(('image', 'annotation', 'seg', 'mask'))
        paths.update({
            kind: fileio.join_path(folder, img_id + suffix,
                                   backend_args=self.backend_args)
            for kind, (folder, suffix) in self.folders.items()
        })
        return paths

    def isfile(self, path: Optional[str]) -> bool:
        """Whether ``path`` is given and names an existing file."""
        return path is not None and fileio.isfile(
            path, backend_args=self.backend_args)

    def check_split(self, split_file: str) -> Tuple[List[dict], List[str]]:
        """Check a split file and every sample it lists.

        Args:
            split_file (str): The split file.

        Returns:
            tuple[list[dict], list[str]]: The data infos of the valid
            samples (see :meth:`check_sample`) and all problems found.
        """
        entries, problems = read_split(split_file, self.backend_args)
        data_list = []
        for number, img_id in entries:
            paths = [p for p in self.paths(img_id).values() if p is not None]
            if not any(self.isfile(p) for p in paths):
                problems.append(
                    f'{split_file}:{number}: id {img_id!r} has no files '
                    f'(none of {", ".join(paths)})')
                continue
            info, sample_problems = self.check_sample(img_id)
            problems.extend(sample_problems)
            if not sample_problems:
                data_list.append(info)
        return data_list, problems

    def check_sample(self, img_id: str) -> Tuple[Optional[dict], List[str]]:
        """Check one sample's files and build its data info.

        Checked: the image exists and is complete and readable, and has the
        size its XML declares; the XML exists and parses, and every object
        has a known class and a box inside the image with positive width and
        height (for ``boxes_from='xml'``); the target mask exists, is a
        binary single-channel image of the image's size (and gives the
        boxes, for ``boxes_from='mask'``); the sky map exists (unless
        ``allow_missing_seg``), is a complete single-channel image of the
        image's size and holds only valid class indices.

        Args:
            img_id (str): The image id.

        Returns:
            tuple: The data info (None if the sample has problems):
            ``img_id``, ``img_path``, ``seg_map_path`` (or None),
            ``mask_path`` (or None), ``width``, ``height`` and ``instances``
            (``bbox`` as ``[x1, y1, x2, y2]``, ``bbox_label``,
            ``ignore_flag``); and the problems.
        """
        paths = self.paths(img_id)
        img_path, xml_path, seg_path, mask_path = (paths['image'],
                                                   paths['annotation'],
                                                   paths['seg'], paths['mask'])
        problems = []

        xml_size, objects = None, None
        if xml_path is not None:
            if not self.isfile(xml_path):
                problems.append(f'{xml_path}: missing annotation XML')
            else:
                try:
                    xml_size, objects = parse_voc_xml(xml_path,
                                                      self.backend_args)
                except ValueError as err:
                    problems.append(f'{xml_path}: {err}')

        mask = None
        if mask_path is not None:
            if not self.isfile(mask_path):
                problems.append(f'{mask_path}: missing target mask')
            else:
                mask, mask_problems = read_target_mask(
                    mask_path, self.backend_args)
                problems.extend(mask_problems)

        size = xml_size
        if self.check_images:
            size, img_problems = image_size(img_path, 'image',
                                            self.backend_args)
            problems.extend(img_problems)
            if size is not None and xml_size not in (None, size):
                problems.append(
                    f'{xml_path}: <size> {xml_size[0]}x{xml_size[1]} differs '
                    f'from the image size {size[0]}x{size[1]}')
        elif size is None and mask is not None:
            size = (mask.shape[1], mask.shape[0])
        elif size is None and objects is not None:
            problems.append(f'{xml_path}: no <size> and check_images=False')

        if objects is not None:
            problems.extend(self.check_objects(xml_path, objects, size))
        if mask is not None and size is not None and (
                mask.shape[1], mask.shape[0]) != tuple(size):
            problems.append(
                f'{mask_path}: target mask size {mask.shape[1]}x'
                f'{mask.shape[0]} differs from its image size '
                f'{size[0]}x{size[1]}')

        if self.isfile(seg_path):
            problems.extend(self.check_seg_map(seg_path, size))
        elif seg_path is not None and not self.allow_missing_seg:
            problems.append(
                f'{seg_path}: missing sky map (set allow_missing_seg=True to '
                'train on images without one)')
        else:
            seg_path = None

        if problems:
            return None, problems
        if self.boxes_from == 'mask':
            instances = [
                dict(bbox=box.tolist(), bbox_label=0, ignore_flag=0)
                for box in mask_boxes(mask)
            ]
        else:
            instances = []
            for _, box, difficult in objects:
                if self.minus_one:
                    box = [v - 1 for v in box]
                instances.append(
                    dict(bbox=box, bbox_label=0, ignore_flag=int(difficult)))
        return dict(
            img_id=img_id,
            img_path=img_path,
            seg_map_path=seg_path,
            mask_path=mask_path,
            width=size[0],
            height=size[1],
            instances=instances), []

    def check_objects(self, xml_path: str, objects: List[tuple],
                      size: Optional[tuple]) -> List[str]:
        """Problems with the class names and boxes of one XML file.

        Args:
            xml_path (str): The XML file, for the messages.
            objects (list[tuple]): As returned by :func:`parse_voc_xml`.
            size (tuple, optional): ``(width, height)`` of the image; boxes
                are not checked against it when None.

        Returns:
            list[str]: The problems.
        """
        problems = []
        for name, box, _ in objects:
            if name not in self.classes:
                problems.append(
                    f'{xml_path}: unknown class name {name!r} (known: '
                    f'{", ".join(self.classes)})')
            x1, y1, x2, y2 = box
            shown = [int(v) if float(v).is_integer() else v for v in box]
            if not (x1 < x2 and y1 < y2):
                problems.append(
                    f'{xml_path}: box {shown} is degenerate (its width or '
                    'height is zero or negative)')
            # VOC boxes are 1-based and inclusive: 1 <= x1, x2 <= width.
            elif size is not None and not (1 <= x1 and 1 <= y1
                                           and x2 <= size[0]
                                           and y2 <= size[1]):
                problems.append(f'{xml_path}: box {shown} lies outside the '
                                f'{size[0]}x{size[1]} image')
        return problems

    def check_seg_map(self, seg_path: str,
                      size: Optional[tuple]) -> List[str]:
        """Problems with one sky map: unreadable, mode, size or values.

        Args:
            seg_path (str): The sky map file, which must exist.
            size (tuple, optional): ``(width, height)`` of its image; the
                size is not checked when None.

        Returns:
            list[str]: The problems.
        """
        try:
            with Image.open(io.BytesIO(
                    fileio.get(seg_path,
                               backend_args=self.backend_args))) as seg:
                seg.load()
                mode, seg_size = seg.mode, seg.size
                values = np.asarray(seg) if mode in SEG_MODES else None
        except (UnidentifiedImageError, OSError, SyntaxError,
                ValueError) as err:
            return [f'{seg_path}: unreadable sky map ({err})']
        problems = []
        if size is not None and seg_size != tuple(size):
            problems.append(
                f'{seg_path}: sky map size {seg_size[0]}x{seg_size[1]} '
                f'differs from its image size {size[0]}x{size[1]}')
        if values is None:
            problems.append(
                f'{seg_path}: sky map has mode {mode!r}; expected a '
                'single-channel palette or grayscale PNG of class indices')
            return problems
        invalid = ((values >= self.num_seg_classes) &
                   (values != self.seg_ignore_index))
        if invalid.any():
            problems.append(
                f'{seg_path}: sky map holds values '
                f'{np.unique(values[invalid]).tolist()}; expected class '
                f'indices 0..{self.num_seg_classes - 1} or '
                f'{self.seg_ignore_index}')
        return problems

    def check_unlisted(self, split_files: Sequence[str]) -> List[str]:
        """Files of the image, annotation, sky map and mask folders whose id
        no split lists.

        Args:
            split_files (Sequence[str]): All split files of the dataset.

        Returns:
            list[str]: One problem per unlisted file.
        """
        listed = set()
        for split_file in split_files:
            listed.update(
                img_id
                for _, img_id in read_split(split_file, self.backend_args)[0])
        problems = []
        for folder, suffix in self.folders.values():
            if not fileio.isdir(folder, backend_args=self.backend_args):
                continue
            names = fileio.list_dir_or_file(
                folder, list_dir=False, suffix=suffix,
                backend_args=self.backend_args)
            for name in sorted(names):
                img_id = name[:-len(suffix)]
                if img_id not in listed:
                    path = fileio.join_path(
                        folder, name, backend_args=self.backend_args)
                    problems.append(f'{path}: in no split (its id '
                                    f'{img_id!r} is in no split file)')
        return problems

"""Validation of datasets in the DenseSIRST layout and of mask-annotated
infrared small-target datasets.

The files are read by :mod:`~bafenet.datasets.readers` and
:mod:`~bafenet.datasets.target_mask`; this module checks what they hold.
One implementation serves :class:`~bafenet.datasets.DenseSIRSTDataset` and
:class:`~bafenet.datasets.MaskSIRSTDataset` (which validate their split when
they are built) and ``tools/misc/check_dataset.py`` (which validates whole
datasets). Every problem is a line ``'<file>: <problem>'`` (``'<split
file>:<line>: ...'`` for problems of a split file), and all problems are
collected rather than the first one raised. Files are read through
``mmengine.fileio`` with the dataset's ``backend_args``, so local folders and
remote storage (petrel, S3, HTTP) are checked alike.
"""
import os
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine import fileio

from .readers import file_problem, is_broken_link, parse_voc_xml, read_split
from .target_mask import (DEFAULT_MASK_THRESHOLD, IMAGE_ERRORS, image_error,
                          mask_boxes, open_image, read_target_mask,
                          thresholded_report)

#: Sky-map modes that hold one class index per pixel.
SEG_MODES = ('P', 'L')
#: Where a sample's boxes come from.
BOX_SOURCES = ('xml', 'mask')
#: How boxes are written into the data infos (see DenseSIRSTValidator).
BOX_CONVENTIONS = ('voc', 'pixel')
#: The EXIF tag of the orientation in which a viewer shows the image.
EXIF_ORIENTATION = 0x0112
#: OpenCV's decoding in the check: every channel and bit depth as stored.
CV2_CHECK_FLAGS = cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION


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


class SampleLoadError(RuntimeError):
    """Raised when a sample's pipeline fails; the message names the split,
    the sample and its image, the cause follows the original error."""


def check_image(path: str,
                backend_args: Optional[dict] = None
                ) -> Tuple[Optional[tuple], List[str]]:
    """Check that a file is a complete image that decodes, and read its
    size.

    The whole file is checked (``Image.verify``: for PNG, every chunk's
    checksum) and every pixel decoded, by Pillow and by OpenCV (the decoder
    of the training and test pipelines' ``LoadImageFromFile``), so that a
    truncated file, pixel data that is short or corrupt under valid
    checksums, or a format OpenCV cannot read (an icon named ``.png``) fails
    here and not in the middle of a training. An image with an EXIF
    orientation of 2..8 (turned or mirrored) is refused: decoders that honour
    the tag (OpenCV's default, mmcv's Pillow backend) would turn it against
    its annotations, which are in stored pixel order.

    Args:
        path (str): The image file.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        tuple: ``(width, height)`` or None, and the problems.
    """
    problem = file_problem(path, 'image', backend_args)
    if problem:
        return None, [problem]
    content = fileio.get(path, backend_args=backend_args)
    try:
        with open_image(content) as img:
            img.verify()
        with open_image(content) as img:
            img.load()
            size = img.size
            orientation = img.getexif().get(EXIF_ORIENTATION, 1)
    except IMAGE_ERRORS as err:
        return None, [image_error(path, 'image', err)]
    if cv2.imdecode(np.frombuffer(content, np.uint8), CV2_CHECK_FLAGS) is None:
        return None, [
            f'{path}: unreadable image (OpenCV, the pipelines\' decoder, '
            'cannot decode it)'
        ]
    if orientation in range(2, 9):
        return None, [
            f'{path}: image has EXIF orientation {orientation} (shown '
            'rotated or mirrored); annotations are in stored pixel order and '
            'decoders would turn the image against them: remove the tag '
            '(e.g. re-save the pixels without EXIF)'
        ]
    return size, []


class SplitCheck(NamedTuple):
    """What :meth:`DenseSIRSTValidator.check_split` found.

    Attributes:
        data_list (list[dict]): The data infos of the valid samples.
        problems (list[str]): Every problem, ``'<file>: <problem>'``.
        notes (list[str]): How the split was read where a rule decided it
            (target masks read by the threshold); to be reported, not
            problems.
    """
    data_list: List[dict]
    problems: List[str]
    notes: List[str]


class DenseSIRSTValidator:
    """Checks the files of samples and splits in the DenseSIRST layout or in
    a mask-annotated layout.

    Args:
        img_dir (str): Image folder.
        ann_dir (str, optional): Folder of the VOC box XMLs; needed when
            ``boxes_from='xml'``.
        seg_dir (str, optional): Folder of the sky maps; None when the
            dataset has none (every sample then has ``seg_map_path`` None).
        classes (Sequence[str]): Known box class names: an XML object's
            ``<name>`` gives its label, its index in ``classes``; boxes from
            masks get label 0.
        num_seg_classes (int): Valid sky-map values are ``0 ..
            num_seg_classes - 1`` and ``seg_ignore_index``.
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        ann_suffix (str): Box annotation suffix. Defaults to ``'.xml'``.
        seg_suffix (str): Sky map suffix. Defaults to ``'.png'``.
        allow_missing_seg (bool): Accept samples without a sky map (but not
            a broken symbolic link in its place). Defaults to False.
        check_images (bool): Check the image files; with False, boxes and
            maps are checked against the XML ``<size>`` (or, without XML,
            the mask's size). Defaults to True.
        box_convention (str): How boxes go into the data infos, as
            ``[x1, y1, x2, y2]``. ``'voc'``: the VOC rule of mmdet's
            ``XMLDataset`` and the original code, 1 subtracted from every
            XML number (XMLs 1-based and inclusive), and mask boxes from the
            first to the last pixel, inclusive. ``'pixel'``: 0-based pixel
            edges, ``x1`` the first pixel column and ``x2`` the last plus
            one (mmdet's flips and crops assume this): XML numbers as
            written (DenseSIRST's XMLs are 0-based and end-exclusive), and
            mask boxes ``[first, last + 1]``. Defaults to ``'voc'``.
        seg_ignore_index (int): The sky-map value of unlabelled pixels.
            Defaults to 255.
        mask_dir (str, optional): Folder of the binary target masks (see
            :func:`~bafenet.datasets.read_target_mask`); their paths go
            into the data infos as ``mask_path``. Defaults to None (no
            masks).
        mask_suffix (str): Target mask suffix. Defaults to ``'.png'``.
        mask_threshold (int): The lowest target value of a mask that is not
            strictly 0/255 or 0/1. Defaults to 128.
        boxes_from (str): ``'xml'`` (VOC XMLs) or ``'mask'`` (one box per
            8-connected mask component, see
            :func:`~bafenet.datasets.mask_boxes`). Defaults to ``'xml'``.
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
                 box_convention: str = 'voc',
                 seg_ignore_index: int = 255,
                 mask_dir: Optional[str] = None,
                 mask_suffix: str = '.png',
                 mask_threshold: int = DEFAULT_MASK_THRESHOLD,
                 boxes_from: str = 'xml',
                 backend_args: Optional[dict] = None):
        if boxes_from not in BOX_SOURCES:
            raise ValueError(f'boxes_from must be one of {BOX_SOURCES}, got '
                             f'{boxes_from!r}')
        if box_convention not in BOX_CONVENTIONS:
            raise ValueError(f'box_convention must be one of '
                             f'{BOX_CONVENTIONS}, got {box_convention!r}')
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
        self.box_convention = box_convention
        self.seg_ignore_index = seg_ignore_index
        self.mask_threshold = mask_threshold
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

    def present(self, path: Optional[str]) -> bool:
        """Whether ``path`` is given and names a file or a symbolic link
        (which may be broken: :func:`file_problem` says so)."""
        return path is not None and (
            fileio.isfile(path, backend_args=self.backend_args)
            or is_broken_link(path, self.backend_args))

    def check_split(self, split_file: str) -> SplitCheck:
        """Check a split file and every sample it lists.

        Args:
            split_file (str): The split file.

        Returns:
            SplitCheck: The data infos of the valid samples (see
            :meth:`check_sample`), all problems found, and a note on the
            target masks read by the threshold (if any).
        """
        entries, problems = read_split(split_file, self.backend_args)
        data_list, thresholded, masks = [], [], 0
        for number, img_id in entries:
            paths = [p for p in self.paths(img_id).values() if p is not None]
            if not any(self.present(p) for p in paths):
                problems.append(
                    f'{split_file}:{number}: id {img_id!r} has no files '
                    f'(none of {", ".join(paths)})')
                continue
            info, sample_problems, mask_values = self.check_sample(img_id)
            problems.extend(sample_problems)
            if info is None:
                continue
            data_list.append(info)
            if info['mask_path'] is not None:
                masks += 1
                if mask_values is not None:
                    thresholded.append((info['mask_path'], mask_values))
        report = thresholded_report(thresholded, masks, self.mask_threshold)
        return SplitCheck(data_list, problems, [report] if report else [])

    def check_sample(
        self, img_id: str
    ) -> Tuple[Optional[dict], List[str], Optional[List[int]]]:
        """Check one sample's files and build its data info.

        Checked: the image exists, is complete and decodes, has no EXIF
        orientation, and has the size its XML declares (see
        :func:`check_image`); the XML exists and parses, and every object
        has a known class and a box inside the image with positive width
        and height (for ``boxes_from='xml'``); the target mask exists, is
        readable by the threshold rule (:func:`read_target_mask`) and has
        the image's size (and gives the boxes, for ``boxes_from='mask'``);
        the sky map exists (unless ``allow_missing_seg``), is a complete
        single-channel image of the image's size and holds only valid class
        indices. A broken symbolic link in place of any file is a problem.

        Args:
            img_id (str): The image id.

        Returns:
            tuple: The data info (None if the sample has problems):
            ``img_id``, ``img_path``, ``seg_map_path`` (or None),
            ``mask_path`` (or None), ``width``, ``height`` and ``instances``
            (``bbox`` as ``[x1, y1, x2, y2]`` in ``box_convention``,
            ``bbox_label``, ``ignore_flag``); the problems; and the target
            mask's distinct values if it was read by the threshold (else
            None).
        """
        paths = self.paths(img_id)
        img_path, xml_path, seg_path, mask_path = (paths['image'],
                                                   paths['annotation'],
                                                   paths['seg'], paths['mask'])
        problems = []

        xml_size, objects = None, None
        if xml_path is not None:
            problem = file_problem(xml_path, 'annotation XML',
                                   self.backend_args)
            if problem:
                problems.append(problem)
            else:
                try:
                    xml_size, objects = parse_voc_xml(xml_path,
                                                      self.backend_args)
                except ValueError as err:
                    problems.append(f'{xml_path}: {err}')

        mask, mask_values = None, None
        if mask_path is not None:
            problem = file_problem(mask_path, 'target mask',
                                   self.backend_args)
            if problem:
                problems.append(problem)
            else:
                mask, mask_problems, mask_values = read_target_mask(
                    mask_path, self.backend_args, self.mask_threshold)
                problems.extend(mask_problems)

        size = xml_size
        if self.check_images:
            size, img_problems = check_image(img_path, self.backend_args)
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

        if seg_path is not None:
            problem = file_problem(seg_path, 'sky map', self.backend_args)
            if problem is None:
                problems.extend(self.check_seg_map(seg_path, size))
            elif is_broken_link(seg_path, self.backend_args):
                problems.append(problem)
            elif not self.allow_missing_seg:
                problems.append(f'{problem} (set allow_missing_seg=True to '
                                'train on images without one)')
            else:
                seg_path = None

        if problems:
            return None, problems, mask_values
        return dict(
            img_id=img_id,
            img_path=img_path,
            seg_map_path=seg_path,
            mask_path=mask_path,
            width=size[0],
            height=size[1],
            instances=self.instances(objects, mask)), [], mask_values

    def instances(self, objects: Optional[List[tuple]],
                  mask: Optional[np.ndarray]) -> List[dict]:
        """The data info instances of one valid sample, in
        ``box_convention``.

        Args:
            objects (list[tuple], optional): As returned by
                :func:`parse_voc_xml`; used when ``boxes_from='xml'``.
            mask (np.ndarray, optional): (H, W) bool target mask; used when
                ``boxes_from='mask'``.

        Returns:
            list[dict]: ``bbox`` (``[x1, y1, x2, y2]``), ``bbox_label`` and
            ``ignore_flag`` of each box.
        """
        if self.boxes_from == 'mask':
            boxes = mask_boxes(mask)
            if self.box_convention == 'pixel':
                boxes[:, 2:] += 1
            return [
                dict(bbox=box.tolist(), bbox_label=0, ignore_flag=0)
                for box in boxes
            ]
        shift = 1 if self.box_convention == 'voc' else 0
        return [
            dict(
                bbox=[v - shift for v in box],
                bbox_label=self.classes.index(name),
                ignore_flag=int(difficult))
            for name, box, difficult in objects
        ]

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
        low = 1 if self.box_convention == 'voc' else 0
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
            # 'voc': 1-based and inclusive, 1 <= x1, x2 <= width;
            # 'pixel': 0-based and end-exclusive, 0 <= x1, x2 <= width.
            elif size is not None and not (low <= x1 and low <= y1
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
            with open_image(
                    fileio.get(seg_path,
                               backend_args=self.backend_args)) as seg:
                seg.load()
                mode, seg_size = seg.mode, seg.size
                values = np.asarray(seg) if mode in SEG_MODES else None
        except IMAGE_ERRORS as err:
            return [image_error(seg_path, 'sky map', err)]
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
            for name in sorted(self.folder_files(folder, suffix)):
                img_id = name[:-len(suffix)]
                if img_id not in listed:
                    path = fileio.join_path(
                        folder, name, backend_args=self.backend_args)
                    problems.append(f'{path}: in no split (its id '
                                    f'{img_id!r} is in no split file)')
        return problems

    def folder_files(self, folder: str, suffix: str) -> List[str]:
        """The names of the files in ``folder`` ending in ``suffix``; in a
        local folder, symbolic links too, broken ones included (mmengine's
        listing stops at a link that loops)."""
        backend = fileio.get_file_backend(folder,
                                          backend_args=self.backend_args)
        if not isinstance(backend, fileio.LocalBackend):
            return list(
                fileio.list_dir_or_file(
                    folder, list_dir=False, suffix=suffix,
                    backend_args=self.backend_args))
        with os.scandir(folder) as entries:
            return [
                entry.name for entry in entries
                if entry.name.endswith(suffix)
                and not entry.name.startswith('.') and (
                    entry.is_symlink() or entry.is_file(follow_symlinks=False))
            ]

"""Readers of a dataset's files: split files and VOC box XMLs (target masks:
:mod:`~bafenet.datasets.target_mask`). They read and report what cannot be
read; :mod:`~bafenet.datasets.validation` checks what the files hold."""
import os
import xml.etree.ElementTree as ET
from typing import List, Optional, Tuple

from mmengine import fileio


def read_split(split_file: str,
               backend_args: Optional[dict] = None
               ) -> Tuple[List[Tuple[int, str]], List[str]]:
    """Read a split file: one image id per line.

    The file is UTF-8 text (a leading byte-order mark is skipped; other
    bytes are a problem naming the line). Blank lines are skipped; a
    repeated id is a problem, and only its first occurrence is kept.

    Args:
        split_file (str): The split file.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        tuple: The ``(line number, id)`` entries in order, and the problems.
    """
    problem = file_problem(split_file, 'split file', backend_args)
    if problem:
        return [], [problem]
    content = fileio.get(split_file, backend_args=backend_args)
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is no id.
        lines = content.decode('utf-8-sig').splitlines()
    except UnicodeDecodeError as err:
        line = content[:err.start].count(b'\n') + 1
        return [], [
            f'{split_file}:{line}: not UTF-8 text (byte '
            f'{content[err.start:err.start + 1]!r} at offset {err.start}); '
            'a split file lists one image id per line, in UTF-8'
        ]
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


def file_problem(path: str,
                 what: str,
                 backend_args: Optional[dict] = None) -> Optional[str]:
    """Whether ``path`` names an existing file, and if not, why.

    A local symbolic link that loops or points nowhere is named as such,
    not taken for a missing file.

    Args:
        path (str): The file.
        what (str): What the file is, for the messages (``'image'``).
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.

    Returns:
        str, optional: None for an existing file, else ``'<file>: missing
        <what>'`` or ``'<file>: <what> is a broken symbolic link ...'``.
    """
    if fileio.isfile(path, backend_args=backend_args):
        return None
    if is_broken_link(path, backend_args):
        try:
            os.stat(path)
            reason = 'not a file'
        except OSError as err:
            reason = err.strerror
        return (f'{path}: {what} is a broken symbolic link (to '
                f'{os.readlink(path)!r}: {reason})')
    return f'{path}: missing {what}'


def is_broken_link(path: str, backend_args: Optional[dict] = None) -> bool:
    """Whether ``path`` is a local symbolic link that names no file (it
    loops, or its target is missing or not a file)."""
    backend = fileio.get_file_backend(path, backend_args=backend_args)
    return (isinstance(backend, fileio.LocalBackend) and os.path.islink(path)
            and not os.path.isfile(path))

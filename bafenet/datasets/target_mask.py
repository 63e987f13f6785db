"""Binary target masks as datasets release them, and their boxes.

The field's masks are 8-bit PNGs of 0 (background) and 255 (target), some
of 0 and 1; released datasets also hold masks with other values (85 of
IRSTD-1k's 1,001 masks: anti-aliased edges, ``[0, 64, 255]``,
``[0, 1, 255]``) and masks saved as RGB(A). :func:`read_target_mask` reads
them all by one documented rule and reports which masks needed the rule.
"""
import io
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

#: The field's threshold: an 8-bit mask value >= 128 is a target pixel.
DEFAULT_MASK_THRESHOLD = 128
#: Modes of one value per pixel: 1-bit, 8-bit grayscale, palette indices.
SINGLE_CHANNEL_MODES = ('1', 'L', 'P')
#: 16-bit (and 32-bit integer) grayscale modes.
WIDE_MODES = ('I;16', 'I;16L', 'I;16B', 'I')
#: Colour modes read as grayscale when their colour channels are equal.
COLOUR_MODES = ('RGB', 'RGBA', 'LA')
#: Errors of reading or decoding an image file with Pillow.
IMAGE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                Image.DecompressionBombError)
#: The most pixels an image file may declare: Pillow's own default limit
#: (twice its default ``Image.MAX_IMAGE_PIXELS``), fixed here because other
#: libraries lift Pillow's global one (SAHI sets it to None when it opens an
#: image).
MAX_IMAGE_PIXELS = 2 * 89_478_485


def open_image(content: bytes) -> Image.Image:
    """Pillow's lazy open of an image file's bytes (the header only).

    Args:
        content (bytes): The whole file.

    Returns:
        PIL.Image.Image: The opened image, to use as a context manager.

    Raises:
        PIL.Image.DecompressionBombError: If the header declares more than
            :data:`MAX_IMAGE_PIXELS` pixels, whatever Pillow's global limit.
        Exception: Pillow's errors of :data:`IMAGE_ERRORS`.
    """
    img = Image.open(io.BytesIO(content))
    if img.width * img.height > MAX_IMAGE_PIXELS:
        img.close()
        raise Image.DecompressionBombError(
            f'{img.width}x{img.height} = {img.width * img.height} pixels')
    return img


class MaskReading(NamedTuple):
    """What :func:`read_target_mask` read.

    Attributes:
        mask (np.ndarray, optional): (H, W) bool target mask; None on a
            problem.
        problems (list[str]): ``'<file>: <problem>'`` lines; empty when the
            mask was read.
        thresholded (list[int], optional): The mask's distinct values when
            it is not strictly 0/255 or 0/1 and was read by the threshold;
            None for a strictly binary mask (or on a problem).
    """
    mask: Optional[np.ndarray]
    problems: List[str]
    thresholded: Optional[List[int]]


def image_error(path: str, what: str, err: Exception) -> str:
    """The problem line for an image file Pillow cannot open or decode.

    Args:
        path (str): The file.
        what (str): What the file is (``'image'``, ``'target mask'``).
        err (Exception): The error Pillow raised.

    Returns:
        str: ``'<file>: <problem>'``; for a header that declares more pixels
        than :data:`MAX_IMAGE_PIXELS`, says so.
    """
    if isinstance(err, Image.DecompressionBombError):
        return (f'{path}: {what} declares more pixels than Pillow decodes '
                f'({err}; the limit is {MAX_IMAGE_PIXELS})')
    return f'{path}: unreadable {what} ({err})'


def mask_values(path: str, img: Image.Image
                ) -> Tuple[Optional[np.ndarray], List[str]]:
    """The one value per pixel of a decoded mask image of any mode.

    1-bit, grayscale and palette masks give their values (palette indices);
    16-bit masks give theirs if they all lie in 0..255 (else the threshold
    cannot say what they mean); RGB, RGBA and LA masks give their first
    channel if all colour channels are equal and any alpha channel is fully
    opaque.

    Args:
        path (str): The file, for the messages.
        img (PIL.Image.Image): The decoded mask.

    Returns:
        tuple: (H, W) integer array (None on a problem) and the problems.
    """
    mode = img.mode
    values = np.asarray(img)
    if mode in SINGLE_CHANNEL_MODES:
        return values.astype(np.uint8), []
    if mode in WIDE_MODES:
        low, high = int(values.min()), int(values.max())
        if low < 0 or high > 255:
            return None, [
                f'{path}: 16-bit target mask holds values {low}..{high}; '
                'the mask threshold applies to values 0..255 (save the mask '
                'as an 8-bit 0/255 or 0/1 PNG)'
            ]
        return values.astype(np.uint8), []
    if mode in COLOUR_MODES:
        colour = values[..., :1] if mode == 'LA' else values[..., :3]
        if mode in ('RGBA', 'LA') and (values[..., -1] != 255).any():
            return None, [
                f'{path}: {mode} target mask has a transparent alpha '
                'channel; save it without alpha (or as a grayscale PNG)'
            ]
        differ = (colour != colour[..., :1]).any(axis=-1)
        if differ.any():
            y, x = np.argwhere(differ)[0]
            return None, [
                f'{path}: {mode} target mask has colour channels that differ '
                f'at {int(differ.sum())} pixels (first at x={x}, y={y}: '
                f'{colour[y, x].tolist()}); a target mask is grayscale'
            ]
        return colour[..., 0], []
    return None, [
        f'{path}: target mask has mode {mode!r}; expected a grayscale, '
        '1-bit, palette, 16-bit or RGB(A) PNG with equal colour channels'
    ]


def read_target_mask(path: str,
                     backend_args: Optional[dict] = None,
                     threshold: int = DEFAULT_MASK_THRESHOLD) -> MaskReading:
    """Read a target mask as released, by the field's threshold rule.

    The rule: a mask whose values are all in {0, 255} or all in {0, 1} is
    binary (any non-zero pixel is target); any other mask is read as target
    where its value is ``>= threshold`` (anti-aliased edges, ``[0, 64,
    255]``, ``[0, 1, 255]``), and the reading says so
    (:attr:`MaskReading.thresholded`), so that datasets report how many
    masks it took. A mask with non-zero values of which none reaches the
    threshold (e.g. ``[0, 64]``) is neither and is a problem: read either
    way it would lose or invent targets. An all-zero mask is an image
    without targets. Mask modes: see :func:`mask_values`.

    Args:
        path (str): The mask file, which must exist.
        backend_args (dict, optional): ``mmengine.fileio`` backend arguments.
        threshold (int): The lowest target value of a non-binary mask, in
            2..255. Defaults to 128.

    Returns:
        MaskReading: The (H, W) bool mask, the problems and, for a
        non-binary mask, its distinct values.
    """
    if not 2 <= threshold <= 255:
        raise ValueError(f'mask threshold must be in 2..255, got {threshold}')
    try:
        with open_image(fileio.get(path, backend_args=backend_args)) as img:
            img.load()
            values, problems = mask_values(path, img)
    except IMAGE_ERRORS as err:
        return MaskReading(None, [image_error(path, 'target mask', err)],
                           None)
    if problems:
        return MaskReading(None, problems, None)
    present = np.flatnonzero(np.bincount(values.ravel(), minlength=256))
    if set(present.tolist()) <= {0, 255} or set(present.tolist()) <= {0, 1}:
        return MaskReading(values > 0, [], None)
    if present[-1] < threshold:
        return MaskReading(None, [
            f'{path}: target mask holds values {present.tolist()}, none of '
            f'them >= the threshold {threshold}, and is not a 0/1 mask: '
            'its targets cannot be told (expected 0/255, 0/1, or target '
            f'values >= {threshold})'
        ], None)
    return MaskReading(values >= threshold, [], present.tolist())


def short_values(values: List[int]) -> str:
    """A list of distinct values, its middle elided past six values."""
    if len(values) <= 6:
        return str(values)
    return f'[{values[0]}, {values[1]}, {values[2]}, ..., {values[-2]}, ' \
        f'{values[-1]}] ({len(values)} values)'


def thresholded_report(readings: Sequence[Tuple[str, List[int]]],
                       total: int,
                       threshold: int,
                       max_listed: int = 3) -> Optional[str]:
    """One line saying how many masks were read by the threshold.

    Args:
        readings (Sequence[tuple[str, list[int]]]): ``(path, values)`` of
            each mask read by the threshold.
        total (int): How many masks were read.
        threshold (int): The threshold used.
        max_listed (int): How many masks the line names. Defaults to 3.

    Returns:
        str, optional: E.g. ``'85 of 1001 target masks hold values other
        than 0/255 or 0/1; read as target where >= 128 (masks/XDU0.png:
        [0, 64, 255], ...)'``; None if there is none.
    """
    if not readings:
        return None
    listed = '; '.join(f'{path}: {short_values(values)}'
                       for path, values in readings[:max_listed])
    more = ', ...' if len(readings) > max_listed else ''
    return (f'{len(readings)} of {total} target masks hold values other '
            f'than 0/255 or 0/1; read as target where >= {threshold} '
            f'({listed}{more})')


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

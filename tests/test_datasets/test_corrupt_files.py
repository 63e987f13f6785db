"""Corrupt and hostile files, made from real DenseSIRST samples: each is
refused when the dataset is built (and by tools/misc/check_dataset.py) with
an error naming the file and the problem, and a sample whose pipeline fails
names its split."""
import importlib.util
import io
import os
import shutil
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from bafenet.datasets import DatasetError, DenseSIRSTDataset, SampleLoadError
from tests.conftest import REPO_ROOT

FOLDERS = (('PNGImages', '.png'), ('SIRST/BBox', '.xml'),
           ('SkySeg/PaletteMask', '.png'))


@pytest.fixture
def copy_root(real_root, tmp_path):
    """The first two samples of mini_test (Misc_70, Misc_214) copied into a
    fresh SIRSTdevkit folder, split ``s``."""
    ids = (real_root / 'Splits/mini_test.txt').read_text().split()[:2]
    for folder, suffix in FOLDERS:
        (tmp_path / folder).mkdir(parents=True)
        for i in ids:
            shutil.copy(real_root / folder / f'{i}{suffix}',
                        tmp_path / folder / f'{i}{suffix}')
    (tmp_path / 'Splits').mkdir()
    (tmp_path / 'Splits/s.txt').write_text('\n'.join(ids) + '\n')
    return tmp_path, ids


def build(root, **kwargs):
    return DenseSIRSTDataset(
        data_root=str(root), ann_file='Splits/s.txt', pipeline=[],
        **kwargs)


def expect_error(root, path, phrase, **kwargs):
    with pytest.raises(DatasetError) as info:
        build(root, **kwargs)
    assert f'{path}: {phrase}' in str(info.value), str(info.value)


def png_chunks(data):
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_bytes(chunks):
    """A PNG of these chunks, every checksum valid."""
    return b'\x89PNG\r\n\x1a\n' + b''.join(
        struct.pack('>I', len(body)) + kind + body +
        struct.pack('>I', zlib.crc32(kind + body)) for kind, body in chunks)


def with_pixel_data(data, compressed):
    """The PNG ``data`` with its IDAT chunks replaced by one holding
    ``compressed``, checksums valid."""
    chunks = [c for c in png_chunks(data) if c[0] != b'IDAT']
    return png_bytes(chunks[:-1] + [(b'IDAT', compressed)] + chunks[-1:])


def pixel_data(data):
    return zlib.decompress(b''.join(
        body for kind, body in png_chunks(data) if kind == b'IDAT'))


def truncated_jpeg(data):
    """The frame as a JPEG cut in half, still named .png."""
    gray = np.asarray(Image.open(io.BytesIO(data)))
    jpeg = cv2.imencode('.jpg', gray)[1].tobytes()
    return jpeg[:len(jpeg) // 2]


def short_pixel_data(data):
    """Half of the frame's rows of pixel data, compressed and
    checksummed correctly."""
    raw = pixel_data(data)
    return with_pixel_data(data, zlib.compress(raw[:len(raw) // 2]))


def corrupt_pixel_data(data):
    """The frame's compressed pixel data with 50 bytes zeroed in the
    middle, under a valid checksum."""
    compressed = bytearray(zlib.compress(pixel_data(data)))
    middle = len(compressed) // 2
    compressed[middle:middle + 50] = bytes(50)
    return with_pixel_data(data, bytes(compressed))


def icon(data):
    """The frame as a Windows icon, which Pillow decodes and OpenCV (the
    pipelines' decoder) does not."""
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, 'ICO')
    return out.getvalue()


def huge_header(data):
    """The frame with an IHDR that declares 20000x20000 pixels."""
    chunks = png_chunks(data)
    kind, ihdr = chunks[0]
    assert kind == b'IHDR'
    chunks[0] = (kind, struct.pack('>II', 20000, 20000) + ihdr[8:])
    return png_bytes(chunks)


@pytest.mark.parametrize('fault, phrase', [
    (truncated_jpeg, 'unreadable image (image file is truncated'),
    (short_pixel_data, 'unreadable image ('),
    (corrupt_pixel_data, 'unreadable image ('),
    (icon, "unreadable image (OpenCV, the pipelines' decoder, cannot "
     'decode it)'),
    (huge_header, 'image declares more pixels than Pillow decodes'),
])
def test_images_that_do_not_decode_are_named(copy_root, fault, phrase):
    root, (a, _) = copy_root
    path = root / f'PNGImages/{a}.png'
    path.write_bytes(fault(path.read_bytes()))
    expect_error(root, path, phrase)


def test_huge_header_refused_when_pillow_limit_is_lifted(
        copy_root, monkeypatch):
    """SAHI (a test extra) sets Pillow's global limit to None when it opens
    an image; the check keeps its own."""
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', None)
    root, (a, _) = copy_root
    path = root / f'PNGImages/{a}.png'
    path.write_bytes(huge_header(path.read_bytes()))
    expect_error(
        root, path, 'image declares more pixels than Pillow decodes '
        '(20000x20000 = 400000000 pixels; the limit is 178956970)')


def test_check_dataset_decodes_every_image(copy_root, capsys):
    """The faults that passed the check ('0 problems') before it decoded
    the pixels: a truncated JPEG named .png and a PNG with short pixel data
    under valid checksums."""
    root, (a, b) = copy_root
    for i, fault in ((a, truncated_jpeg), (b, short_pixel_data)):
        path = root / f'PNGImages/{i}.png'
        path.write_bytes(fault(path.read_bytes()))
    spec = importlib.util.spec_from_file_location(
        'check_dataset', REPO_ROOT / 'tools/misc/check_dataset.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.check_dataset(str(root), []) == 2
    output = capsys.readouterr().out
    for i in (a, b):
        assert f'{root}/PNGImages/{i}.png: unreadable image (' in output
    assert 'checked (every image decoded) in ' in output


def test_a_sample_that_fails_to_load_names_its_split(copy_root):
    """A file broken after the dataset was built: the pipeline's image
    loader fails, and the error names the split, the sample and the
    file."""
    root, (a, _) = copy_root
    dataset = DenseSIRSTDataset(
        data_root=str(root), ann_file='Splits/s.txt', test_mode=True,
        pipeline=[dict(type='LoadImageFromFile')])
    path = root / f'PNGImages/{a}.png'
    path.write_bytes(short_pixel_data(path.read_bytes()))
    with pytest.raises(SampleLoadError) as info:
        dataset[0]
    assert str(info.value).startswith(
        f"{root}/Splits/s.txt: sample '{a}' ({path}) failed to load: ")


def test_split_file_encoding(copy_root):
    root, ids = copy_root
    split = root / 'Splits/s.txt'
    # A byte-order mark (Windows editors) is not part of the first id.
    split.write_bytes(b'\xef\xbb\xbf' + '\n'.join(ids).encode())
    assert [info['img_id'] for info in build(root)] == ids
    # Latin-1 bytes are no UTF-8: named with the line.
    split.write_bytes(f'{ids[0]}\n{ids[1]}\xe9\n'.encode('latin-1'))
    expect_error(root, f'{split}:2', "not UTF-8 text (byte b'\\xe9' at "
                 f'offset {len(ids[0]) + 1 + len(ids[1])})')


def test_symbolic_link_loops_and_dangling_links(copy_root):
    root, (a, _) = copy_root
    image = root / f'PNGImages/{a}.png'
    image.unlink()
    os.symlink(image.name, image)  # a link to itself
    expect_error(root, image, f"image is a broken symbolic link (to "
                 f"'{image.name}': Too many levels of symbolic links)")


def test_check_dataset_names_a_link_loop(copy_root, capsys):
    """The check listed the folders through mmengine, whose listing
    crashed at the loop (OSError [Errno 40]) instead of reporting it."""
    root, (a, _) = copy_root
    image = root / f'PNGImages/{a}.png'
    image.unlink()
    os.symlink(image.name, image)
    spec = importlib.util.spec_from_file_location(
        'check_dataset', REPO_ROOT / 'tools/misc/check_dataset.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.check_dataset(str(root), []) == 1
    output = capsys.readouterr().out
    assert f'{image}: image is a broken symbolic link' in output


def test_broken_sky_map_links_are_not_missing_sky_maps(copy_root):
    """With allow_missing_seg=True a missing sky map is "no sky map", but a
    link that loops or points nowhere is an error."""
    root, (a, _) = copy_root
    seg = root / f'SkySeg/PaletteMask/{a}.png'
    seg.unlink()
    assert build(root, allow_missing_seg=True)[0]['seg_map_path'] is None
    os.symlink(seg.name, seg)
    expect_error(root, seg, f"sky map is a broken symbolic link (to "
                 f"'{seg.name}': Too many levels of symbolic links)",
                 allow_missing_seg=True)
    seg.unlink()
    os.symlink('gone.png', seg)
    expect_error(root, seg, "sky map is a broken symbolic link (to "
                 "'gone.png': No such file or directory)",
                 allow_missing_seg=True)


def exif_orientation(path, orientation):
    """Rewrite a real frame with the same pixels and an EXIF orientation
    tag (an eXIf chunk)."""
    with Image.open(path) as img:
        pixels = img.copy()
    exif = Image.Exif()
    exif[0x0112] = orientation
    pixels.save(path, exif=exif.tobytes())


def test_frames_with_an_exif_orientation_are_refused(copy_root):
    root, (a, _) = copy_root
    path = root / f'PNGImages/{a}.png'
    stored = np.asarray(Image.open(path))
    exif_orientation(path, 6)
    # What loading would do: OpenCV (LoadImageFromFile) turns the frame
    # by 90 degrees, against its boxes and sky map.
    loaded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert loaded.shape[:2] == stored.shape[::-1]
    expect_error(root, path, 'image has EXIF orientation 6')
    # Orientation 1 (stored order) is accepted.
    exif_orientation(path, 1)
    assert len(build(root)) == 2

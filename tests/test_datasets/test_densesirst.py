"""DenseSIRSTDataset on the real data, and its error messages."""
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bafenet.datasets import DatasetError, DenseSIRSTDataset


def build(root, split, **kwargs):
    return DenseSIRSTDataset(
        data_root=str(root), ann_file=f'Splits/{split}.txt', pipeline=[],
        **kwargs)


def test_test_v2_counts_and_sky_maps(real_root):
    dataset = build(real_root, 'test_v2', test_mode=True)
    assert len(dataset) == 256
    assert sum(len(d['instances']) for d in dataset) == 3454
    for info in dataset:
        with Image.open(info['seg_map_path']) as seg, \
                Image.open(info['img_path']) as img:
            assert seg.mode == 'P'
            assert seg.size == img.size == (info['width'], info['height'])
            values = np.unique(np.asarray(seg))
        assert set(values.tolist()) <= {0, 1}, info['seg_map_path']


def test_trainval_v2_counts(real_root):
    # Annotations only: the images that val_v2 alone uses may be absent.
    dataset = build(real_root, 'trainval_v2', check_images=False)
    assert len(dataset) == 768
    assert sum(len(d['instances']) for d in dataset) == 10201
    for info in dataset:
        with Image.open(info['seg_map_path']) as seg:
            assert seg.size == (info['width'], info['height'])
            assert set(np.unique(np.asarray(seg)).tolist()) <= {0, 1}


def test_trainval_v2_reports_exactly_the_missing_images(real_root):
    val_ids = set((real_root / 'Splits/val_v2.txt').read_text().split())
    missing = {
        i for i in (real_root / 'Splits/trainval_v2.txt').read_text().split()
        if not (real_root / 'PNGImages' / f'{i}.png').exists()
    }
    if not missing:
        assert len(build(real_root, 'trainval_v2')) == 768
        return
    assert missing <= val_ids
    with pytest.raises(DatasetError) as info:
        build(real_root, 'trainval_v2')
    problems = info.value.problems
    assert len(problems) == len(missing)
    assert all('missing image' in p for p in problems)
    assert {Path(p.split(':')[0]).stem for p in problems} == missing


def test_boxes_are_zero_based_and_inside(real_root):
    dataset = build(real_root, 'mini_test', test_mode=True)
    info = dataset[0]
    boxes = np.array([inst['bbox'] for inst in info['instances']])
    assert (boxes[:, :2] >= 0).all()
    assert (boxes[:, 2] < info['width']).all()
    assert (boxes[:, 3] < info['height']).all()
    assert dataset.metainfo['classes'] == ('Target', )
    assert dataset.metainfo['seg_classes'] == ('others', 'sky')
    assert dataset.metainfo['seg_palette'] == [(0, 0, 0), (128, 0, 0)]


@pytest.fixture
def small_copy(real_root, tmp_path):
    """Two real samples in a fresh SIRSTdevkit folder, split ``s``."""
    ids = (real_root / 'Splits/mini_test.txt').read_text().split()[:2]
    for folder, suffix in (('PNGImages', '.png'), ('SIRST/BBox', '.xml'),
                           ('SkySeg/PaletteMask', '.png')):
        (tmp_path / folder).mkdir(parents=True)
        for i in ids:
            shutil.copy(real_root / folder / f'{i}{suffix}',
                        tmp_path / folder / f'{i}{suffix}')
    (tmp_path / 'Splits').mkdir()
    (tmp_path / 'Splits/s.txt').write_text('\n'.join(ids))
    return tmp_path, ids


def test_small_copy_loads(small_copy):
    root, ids = small_copy
    assert [d['img_id'] for d in build(root, 's')] == ids


def expect_error(root, path, phrase, **kwargs):
    with pytest.raises(DatasetError) as info:
        build(root, 's', **kwargs)
    message = str(info.value)
    assert str(path) in message and phrase in message, message


def test_missing_files(small_copy):
    root, (a, b) = small_copy
    for folder, suffix, phrase in (('PNGImages', '.png', 'missing image'),
                                   ('SIRST/BBox', '.xml',
                                    'missing annotation XML'),
                                   ('SkySeg/PaletteMask', '.png',
                                    'missing sky map')):
        path = root / folder / f'{a}{suffix}'
        content = path.read_bytes()
        path.unlink()
        expect_error(root, path, phrase)
        path.write_bytes(content)


def test_missing_sky_map_allowed_when_configured(small_copy):
    root, (a, b) = small_copy
    (root / f'SkySeg/PaletteMask/{a}.png').unlink()
    dataset = build(root, 's', allow_missing_seg=True)
    assert dataset[0]['seg_map_path'] is None
    assert dataset[1]['seg_map_path'] is not None


def test_unreadable_png(small_copy):
    root, (a, b) = small_copy
    path = root / f'PNGImages/{a}.png'
    path.write_bytes(b'not a png at all')
    expect_error(root, path, 'unreadable image')


def test_malformed_xml(small_copy):
    root, (a, b) = small_copy
    path = root / f'SIRST/BBox/{a}.xml'
    path.write_text(path.read_text()[:-30])
    expect_error(root, path, 'malformed XML')


def test_box_outside_image(small_copy):
    root, (a, b) = small_copy
    path = root / f'SIRST/BBox/{a}.xml'
    text = path.read_text()
    start = text.index('<xmax>') + len('<xmax>')
    end = text.index('</xmax>')
    path.write_text(text[:start] + '99999' + text[end:])
    expect_error(root, path, 'outside')


def test_unknown_class(small_copy):
    root, (a, b) = small_copy
    path = root / f'SIRST/BBox/{a}.xml'
    path.write_text(path.read_text().replace('<name>Target</name>',
                                             '<name>Bird</name>', 1))
    expect_error(root, path, "unknown class name 'Bird'")


def rename_objects(path, names):
    """Give the XML's first objects the ``names``, in order."""
    text = path.read_text()
    parts = text.split('<name>Target</name>')
    assert len(parts) > len(names)
    out = parts[0]
    for k, part in enumerate(parts[1:]):
        name = names[k] if k < len(names) else 'Target'
        out += f'<name>{name}</name>{part}'
    path.write_text(out)


def test_xml_class_names_are_labels(small_copy):
    """A two-class VOC dataset: each object's <name> is its label, the
    index of the name in metainfo['classes']."""
    root, (a, b) = small_copy
    rename_objects(root / f'SIRST/BBox/{a}.xml', ['Bird', 'Target', 'Bird'])
    rename_objects(root / f'SIRST/BBox/{b}.xml', ['Bird'])
    dataset = build(root, 's', metainfo=dict(classes=('Target', 'Bird')))
    labels = {
        info['img_id']: [inst['bbox_label'] for inst in info['instances']]
        for info in dataset
    }
    assert labels[a][:4] == [1, 0, 1, 0] and labels[a].count(1) == 2
    assert labels[b][:2] == [1, 0] and labels[b].count(1) == 1
    # An unknown name is an error naming the file and the name.
    rename_objects(root / f'SIRST/BBox/{b}.xml', ['Plane'])
    expect_error(root, root / f'SIRST/BBox/{b}.xml',
                 "unknown class name 'Plane' (known: Target, Bird)",
                 metainfo=dict(classes=('Target', 'Bird')))


#: Misc_70's first XML object, <xmin>181 <ymin>15 <xmax>184 <ymax>20, is the
#: target whose SIRST/BinaryMask pixels fill columns 181..183 of rows
#: 15..19 (rows 15 and 19 hold column 182 only, rows 16..18 all three):
#:   row 15  ..#.     row 16-18  .###     row 19  ..#.   (columns 180..183)
MISC_70_PIXEL_BOX = [181.0, 15.0, 184.0, 20.0]


def test_box_convention_pixel_is_the_targets_pixel_box(real_root):
    mask = np.asarray(
        Image.open(real_root / 'SIRST/BinaryMask/Misc_70_pixels0.png')) > 0
    ys, xs = np.nonzero(mask[13:22, 179:186])
    assert (xs.min() + 179, xs.max() + 179) == (181, 183)
    assert (ys.min() + 13, ys.max() + 13) == (15, 19)
    default = build(real_root, 'mini_test', test_mode=True)
    pixel = build(real_root, 'mini_test', test_mode=True,
                  box_convention='pixel')
    assert default[0]['img_id'] == pixel[0]['img_id'] == 'Misc_70'
    # The default, VOC's minus one (configs/original/), is unchanged: one
    # pixel up and left of the target.
    assert default[0]['instances'][0]['bbox'] == [180.0, 14.0, 183.0, 19.0]
    assert pixel[0]['instances'][0]['bbox'] == MISC_70_PIXEL_BOX
    x1, y1, x2, y2 = map(int, MISC_70_PIXEL_BOX)
    inside = mask[y1:y2, x1:x2]
    assert inside[0].any() and inside[-1].any()
    assert inside[:, 0].any() and inside[:, -1].any()
    for info_d, info_p in zip(default, pixel):
        for inst_d, inst_p in zip(info_d['instances'], info_p['instances']):
            assert inst_p['bbox'] == [v + 1 for v in inst_d['bbox']]


def test_box_convention_pixel_agrees_with_the_mask_boxes(real_root):
    """In the pixel convention Misc_70's 22 XML boxes are its 22 mask
    components' boxes, end-exclusive like them."""
    from bafenet.datasets import MaskSIRSTDataset
    masks = MaskSIRSTDataset(
        data_root=str(real_root), ann_file='Splits/mini_test.txt',
        data_prefix=dict(img='PNGImages', mask='SIRST/BinaryMask'),
        mask_suffix='_pixels0.png', box_convention='pixel', pipeline=[],
        test_mode=True)
    xml = build(real_root, 'mini_test', test_mode=True,
                box_convention='pixel')
    from_masks = sorted(inst['bbox'] for inst in masks[0]['instances'])
    from_xml = sorted(inst['bbox'] for inst in xml[0]['instances'])
    assert len(from_xml) == 22 and from_masks == from_xml
    assert MISC_70_PIXEL_BOX in from_masks


def test_sky_map_of_another_size(small_copy):
    root, (a, b) = small_copy
    path = root / f'SkySeg/PaletteMask/{a}.png'
    with Image.open(path) as seg:
        seg.resize((seg.width + 1, seg.height)).save(path)
    expect_error(root, path, 'differs from its image size')


def test_empty_split(small_copy):
    root, _ = small_copy
    (root / 'Splits/s.txt').write_text('\n')
    expect_error(root, root / 'Splits/s.txt', 'the split lists no ids')


def test_all_problems_reported_at_once(small_copy):
    root, (a, b) = small_copy
    (root / f'PNGImages/{a}.png').unlink()
    (root / f'SIRST/BBox/{b}.xml').unlink()
    with pytest.raises(DatasetError) as info:
        build(root, 's')
    assert len(info.value.problems) == 2


def test_files_are_read_through_backend_args(small_copy):
    """Every file goes through the mmengine.fileio backend the config
    names, as remote storage would (petrel, S3)."""
    from mmengine.fileio import LocalBackend, register_backend

    read = []

    @register_backend('recording_local', force=True)
    class RecordingBackend(LocalBackend):

        def get(self, filepath):
            read.append(str(filepath))
            return super().get(filepath)

        def get_text(self, filepath, encoding='utf-8'):
            read.append(str(filepath))
            return super().get_text(filepath, encoding)

    root, ids = small_copy
    dataset = build(root, 's', backend_args=dict(backend='recording_local'))
    assert [d['img_id'] for d in dataset] == ids
    expected = {str(root / 'Splits/s.txt')} | {
        str(root / f'{folder}/{i}{suffix}')
        for i in ids for folder, suffix in (('PNGImages', '.png'),
                                            ('SIRST/BBox', '.xml'),
                                            ('SkySeg/PaletteMask', '.png'))
    }
    assert set(read) == expected

"""Target masks as datasets release them: one real DenseSIRST mask
(``SIRST/BinaryMask/Misc_70_pixels0.png``) rewritten into the forms found in
IRSTD-1k and users' tools, read by the documented threshold, and reported.

Misc_70's mask, counted by hand on its XML (22 ``<object>``, no two of whose
masks touch) and its pixels: 22 targets of 258 pixels in a 338x251 frame,
all of them in columns 94..197 and rows 15..144, so the corners are
background."""
import importlib.util
import logging
import os

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger
from PIL import Image

from bafenet.datasets import DatasetError, MaskSIRSTDataset, read_target_mask
from tests.conftest import REPO_ROOT

ID = 'Misc_70'
TARGETS, PIXELS = 22, 258


def anti_aliased(mask):
    """Edges as an anti-aliasing resize leaves them: the 416 background
    pixels around the targets hold 7, 17 or 114 (all < 128, background),
    every other target pixel 242 (>= 128, target): 22 targets, 258 px."""
    target = mask > 0
    ring = cv2.dilate(target.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ring &= ~target
    out = mask.copy()
    out[ring] = np.resize(np.array([7, 17, 114], np.uint8), ring.sum())
    out[target] = np.resize(np.array([242, 255], np.uint8), target.sum())
    return out


def three_levels(mask):
    """[0, 64, 255]: a 5x5 patch of 64 far from the targets (background)
    and a 3x3 patch of 255 in the top-left corner (one more target):
    23 targets, 258 + 9 = 267 px."""
    out = mask.copy()
    out[200:205, 300:305] = 64
    out[0:3, 0:3] = 255
    return out


#: form: (write the mask, expected targets, expected target pixels, read by
#: the threshold)
VALID = {
    'binary': (lambda m, p: Image.fromarray(m).save(p), TARGETS, PIXELS,
               False),
    'anti_aliased': (lambda m, p: Image.fromarray(anti_aliased(m)).save(p),
                     TARGETS, PIXELS, True),
    'three_levels': (lambda m, p: Image.fromarray(three_levels(m)).save(p),
                     TARGETS + 1, PIXELS + 9, True),
    'zero_one': (lambda m, p: Image.fromarray(
        (m > 0).astype(np.uint8)).save(p), TARGETS, PIXELS, False),
    'rgb': (lambda m, p: Image.fromarray(np.stack([m] * 3, -1)).save(p),
            TARGETS, PIXELS, False),
    'rgba': (lambda m, p: Image.fromarray(
        np.dstack([m, m, m, np.full_like(m, 255)])).save(p), TARGETS,
             PIXELS, False),
    'gray16': (lambda m, p: Image.fromarray(m.astype(np.uint16)).save(p),
               TARGETS, PIXELS, False),
}


def differing_channels(mask, path):
    """Targets drawn red: (255, 0, 0) on black."""
    rgb = np.zeros(mask.shape + (3, ), np.uint8)
    rgb[..., 0] = mask
    Image.fromarray(rgb).save(path)


#: form: (write the mask, phrase of the error)
INVALID = {
    'differing_channels': (differing_channels,
                           'RGB target mask has colour channels that differ '
                           'at 258 pixels'),
    'transparent': (lambda m, p: Image.fromarray(
        np.dstack([m, m, m, m])).save(p),
                    'RGBA target mask has a transparent alpha channel'),
    'gray16_full_range': (lambda m, p: Image.fromarray(
        m.astype(np.uint16) * 257).save(p),
                          '16-bit target mask holds values 0..65535; the '
                          'mask threshold applies to values 0..255'),
    'below_threshold': (lambda m, p: Image.fromarray(m // 255 * 64).save(p),
                        'target mask holds values [0, 64], none of them >= '
                        'the threshold 128, and is not a 0/1 mask'),
    'other_size': (lambda m, p: Image.fromarray(m[:100, :100]).save(p),
                   'target mask size 100x100 differs from its image size '
                   '338x251'),
}


def make_root(root, real_root, forms):
    """The real frame once per form, each beside its rewritten mask, in
    BasicIRSTD's layout; split ``s.txt``."""
    mask = np.asarray(
        Image.open(real_root / f'SIRST/BinaryMask/{ID}_pixels0.png'))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    (root / 'images').mkdir()
    (root / 'masks').mkdir()
    for form, write in forms.items():
        os.symlink(real_root / f'PNGImages/{ID}.png',
                   root / f'images/{ID}_{form}.png')
        write(mask, root / f'masks/{ID}_{form}.png')
    (root / 's.txt').write_text('\n'.join(f'{ID}_{f}' for f in forms))
    return root


@pytest.fixture(scope='module')
def valid_root(real_root, tmp_path_factory):
    return make_root(
        tmp_path_factory.mktemp('masks'), real_root,
        {form: spec[0]
         for form, spec in VALID.items()})


class Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_released_forms_read_by_the_threshold_and_reported(valid_root):
    logger = MMLogger.get_current_instance()
    records = Records()
    logger.addHandler(records)
    try:
        dataset = MaskSIRSTDataset(
            data_root=str(valid_root), ann_file='s.txt', pipeline=[],
            test_mode=True)
    finally:
        logger.removeHandler(records)
    for info in dataset:
        form = info['img_id'][len(ID) + 1:]
        _, targets, pixels, thresholded = VALID[form]
        assert len(info['instances']) == targets, form
        mask, problems, values = read_target_mask(info['mask_path'])
        assert not problems and mask.sum() == pixels, form
        assert (values is not None) == thresholded, form
    assert {info['img_id'] for info in dataset} == {
        f'{ID}_{form}'
        for form in VALID
    }
    reports = [m for m in records.messages if 'target masks' in m]
    assert len(reports) == 1, records.messages
    assert reports[0].startswith(
        f'{valid_root}/s.txt: 2 of 7 target masks hold values other than '
        '0/255 or 0/1; read as target where >= 128 '
        f'({valid_root}/masks/{ID}_anti_aliased.png: [0, 7, 17, 114, 242, '
        f'255]; {valid_root}/masks/{ID}_three_levels.png: [0, 64, 255])'
    ), reports[0]


def test_the_pipeline_reads_masks_by_the_same_threshold(valid_root):
    """The test pipeline of the mask configs loads the same target pixels
    as the dataset counted."""
    from mmengine.config import Config

    from bafenet.registry import DATASETS
    cfg = Config.fromfile(REPO_ROOT / 'configs/_base_/datasets/irstd-1k.py')
    dataset_cfg = cfg.test_dataloader.dataset
    assert dataset_cfg.mask_threshold == 128
    dataset_cfg.update(data_root=str(valid_root), ann_file='s.txt')
    dataset = DATASETS.build(dataset_cfg)
    for k in range(len(dataset)):
        sample = dataset[k]['data_samples']
        form = sample.img_id[len(ID) + 1:]
        assert int(sample.gt_target_mask.data.sum()) == VALID[form][2], form


@pytest.mark.parametrize('form', INVALID)
def test_masks_the_threshold_cannot_read_are_named(real_root, tmp_path,
                                                   form):
    write, phrase = INVALID[form]
    root = make_root(tmp_path, real_root, {form: write})
    with pytest.raises(DatasetError) as info:
        MaskSIRSTDataset(data_root=str(root), ann_file='s.txt', pipeline=[])
    assert f'{root}/masks/{ID}_{form}.png: {phrase}' in str(info.value)


def test_check_dataset_reports_the_thresholded_masks(valid_root, capsys):
    spec = importlib.util.spec_from_file_location(
        'check_dataset', REPO_ROOT / 'tools/misc/check_dataset.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    split_dir = valid_root / 'img_idx'
    split_dir.mkdir(exist_ok=True)
    (split_dir / 's.txt').write_text((valid_root / 's.txt').read_text())
    problems = tool.check_dataset(
        str(valid_root), [],
        img_dir='images',
        split_dir='img_idx',
        allow_missing_seg=True,
        mask_dir='masks',
        boxes_from='mask')
    output = capsys.readouterr().out
    assert problems == 0, output
    assert (f'{split_dir}/s.txt: 2 of 7 target masks hold values other than '
            '0/255 or 0/1; read as target where >= 128') in output
    assert f'{split_dir}/s.txt: 7 valid sample(s), 0 problem(s)' in output

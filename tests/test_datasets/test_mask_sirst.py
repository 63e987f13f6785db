"""Mask-annotated datasets: every layout builds from its config on real
DenseSIRST images rearranged into it, boxes are the masks' components, bad
masks are named, and FCOS and BAFE-Net train and test on them."""
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from PIL import Image

from bafenet.datasets import (DatasetError, MaskSIRSTDataset, mask_boxes,
                              read_target_mask)
from bafenet.registry import DATASETS
from tests.conftest import REPO_ROOT

DATASET_CONFIGS = REPO_ROOT / 'configs/_base_/datasets'

#: layout: (config, train split, test split, image path, mask path), the
#: paths relative to the layout's root.
LAYOUTS = {
    'nuaa-sirst': ('nuaa-sirst.py', 'img_idx/train_NUAA-SIRST.txt',
                   'img_idx/test_NUAA-SIRST.txt', 'images/{}.png',
                   'masks/{}.png'),
    'nudt-sirst': ('nudt-sirst.py', 'img_idx/train_NUDT-SIRST.txt',
                   'img_idx/test_NUDT-SIRST.txt', 'images/{}.png',
                   'masks/{}.png'),
    'irstd-1k': ('irstd-1k.py', 'img_idx/train_IRSTD-1K.txt',
                 'img_idx/test_IRSTD-1K.txt', 'images/{}.png',
                 'masks/{}.png'),
    'dnanet': ('nudt-sirst.py', '50_50/train.txt', '50_50/test.txt',
               'images/{}.png', 'masks/{}.png'),
    'sirst-v2': ('sirst-v2.py', 'splits/trainval_full.txt',
                 'splits/test_full.txt', 'mixed/{}.png',
                 'annotations/masks/{}_pixels0.png'),
}


def link(source, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, target)


@pytest.fixture(scope='module')
def layouts(real_root, tmp_path_factory):
    """The 8 mini images of DenseSIRST (4 train, 4 test) in each layout, and
    DenseSIRST itself for densesirst-masks.py."""
    splits = {
        part: (real_root / f'Splits/mini_{name}.txt').read_text().split()
        for part, name in (('train', 'trainval'), ('test', 'test'))
    }
    roots = {}
    for name, (_, train, test, img, mask) in LAYOUTS.items():
        root = tmp_path_factory.mktemp(name)
        for part, split in (('train', train), ('test', test)):
            (root / split).parent.mkdir(parents=True, exist_ok=True)
            (root / split).write_text('\n'.join(splits[part]) + '\n')
            for i in splits[part]:
                link(real_root / f'PNGImages/{i}.png', root / img.format(i))
                link(real_root / f'SIRST/BinaryMask/{i}_pixels0.png',
                     root / mask.format(i))
        roots[name] = (root, LAYOUTS[name][0], test)
    roots['densesirst-masks'] = (real_root, 'densesirst-masks.py',
                                 'Splits/mini_test.txt')
    return roots, splits


@pytest.mark.parametrize('name', [*LAYOUTS, 'densesirst-masks'])
def test_layout_builds_from_its_config(layouts, real_root, name):
    roots, splits = layouts
    root, config, split = roots[name]
    cfg = Config.fromfile(DATASET_CONFIGS / config)
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = str(root)
    dataset_cfg.ann_file = split
    dataset = DATASETS.build(dataset_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['img_id'] for info in infos] == splits['test']
    for info in infos:
        mask = np.asarray(Image.open(
            real_root / f'SIRST/BinaryMask/{info["img_id"]}_pixels0.png')) > 0
        boxes = np.array([inst['bbox'] for inst in info['instances']])
        np.testing.assert_array_equal(boxes, mask_boxes(mask))
        assert len(boxes) > 0
    # The test pipeline packs the target mask and the sky map under mmdet's
    # and mmseg's keys; only DenseSIRST has sky maps.
    packed = dataset[0]['data_samples']
    mask = np.asarray(Image.open(
        real_root / f'SIRST/BinaryMask/{splits["test"][0]}_pixels0.png')) > 0
    np.testing.assert_array_equal(packed.gt_target_mask.data[0].numpy(),
                                  mask)
    assert packed.gt_sem_seg.data is packed.gt_sem_seg.sem_seg
    all_ignored = bool((packed.gt_sem_seg.data == 255).all())
    assert all_ignored == (name != 'densesirst-masks')
    assert cfg.test_evaluator.mask_metrics


def voc_boxes(path):
    return np.array([[float(obj.find(f'bndbox/{k}').text)
                      for k in ('xmin', 'ymin', 'xmax', 'ymax')]
                     for obj in ET.parse(path).getroot().iter('object')])


def test_test_v2_mask_components_agree_with_the_xml_boxes(real_root):
    """Every component of test_v2's masks is one XML box: 3449 of the 3454
    boxes are the component's extent plus one pixel up and left (the XMLs
    write xmin/ymin 0-based, xmax/ymax 1-based), 5 boxes of 3 images are
    that box shifted 1 px right and down."""
    shifted = {}
    total = 0
    for i in (real_root / 'Splits/test_v2.txt').read_text().split():
        mask, problems, _ = read_target_mask(
            str(real_root / f'SIRST/BinaryMask/{i}_pixels0.png'))
        assert not problems
        from_mask = mask_boxes(mask) + [1, 1, 1, 1]
        xml = voc_boxes(real_root / f'SIRST/BBox/{i}.xml')
        # As XML: 1-based, inclusive, minus the XMLs' one-pixel extension.
        from_xml = xml + [1, 1, 0, 0]
        assert len(from_mask) == len(from_xml), i
        total += len(from_xml)
        unmatched = {tuple(b) for b in from_xml} - {tuple(b)
                                                    for b in from_mask}
        for box in unmatched:
            assert tuple(np.subtract(box, 1)) in {tuple(b) for b in from_mask}
        if unmatched:
            shifted[i] = len(unmatched)
    assert total == 3454
    assert shifted == {'Misc_53': 2, 'Misc_57': 1, 'Misc_65': 2}


@pytest.fixture
def one_image(layouts, tmp_path):
    """The NUAA-SIRST layout with one real image whose mask is a copy."""
    roots, splits = layouts
    src = roots['nuaa-sirst'][0]
    i = splits['test'][0]
    link(src / f'images/{i}.png', tmp_path / f'images/{i}.png')
    (tmp_path / 'masks').mkdir()
    mask = np.asarray(Image.open(src / f'masks/{i}.png'))
    (tmp_path / 's.txt').write_text(i)
    return tmp_path, i, mask


def build(root, **kwargs):
    return MaskSIRSTDataset(
        data_root=str(root), ann_file='s.txt', pipeline=[], **kwargs)


@pytest.mark.parametrize('fault, phrase', [
    ('size', 'target mask size 10x10 differs from its image size'),
    ('values', 'target mask holds values [0, 7], none of them >= the '
     'threshold 128'),
    ('missing', 'missing target mask'),
])
def test_bad_masks_are_named(one_image, fault, phrase):
    root, i, mask = one_image
    path = root / f'masks/{i}.png'
    if fault == 'size':
        Image.fromarray(mask[:10, :10]).save(path)
    elif fault == 'values':
        Image.fromarray((mask > 0).astype(np.uint8) * 7).save(path)
    with pytest.raises(DatasetError) as info:
        build(root)
    assert f'{path}: {phrase}' in str(info.value)


def test_0_1_masks_and_empty_masks(one_image):
    root, i, mask = one_image
    path = root / f'masks/{i}.png'
    Image.fromarray((mask > 0).astype(np.uint8)).save(path)
    assert len(build(root)[0]['instances']) == len(mask_boxes(mask > 0))
    # An empty mask is an image without targets: tested, not trained on.
    Image.fromarray(np.zeros_like(mask)).save(path)
    assert build(root, test_mode=True)[0]['instances'] == []
    assert len(
        build(root, filter_cfg=dict(filter_empty_gt=True),
              serialize_data=False)) == 0


@pytest.mark.parametrize('model', [
    'fcos/fcos_r18_fpn_20e_densesirst.py',
    'bafenet/bafenet_r18_fpn_20e_densesirst.py'
])
def test_models_train_and_test_on_masks(layouts, real_root, tmp_path, model):
    """One iteration on the NUAA-SIRST layout (no sky maps: BAFE-Net's sky
    loss is 0), then the test on densesirst-masks.py's mini_test with the
    mask metrics and, for BAFE-Net, mmseg's IoUMetric from a config line."""
    roots, _ = layouts
    cfg = Config.fromfile(REPO_ROOT / 'configs' / model)
    train = Config.fromfile(DATASET_CONFIGS / 'nuaa-sirst.py')
    test = Config.fromfile(DATASET_CONFIGS / 'densesirst-masks.py')
    cfg.train_dataloader = train.train_dataloader
    cfg.test_dataloader = test.test_dataloader
    cfg.test_evaluator = [test.test_evaluator]
    with_sky = 'bafenet' in model
    if with_sky:
        cfg.test_evaluator.append(dict(type='SkyIoUMetric'))
    cfg.merge_from_dict(
        dict(
            work_dir=str(tmp_path),
            model=dict(backbone=dict(init_cfg=None)),
            train_cfg=dict(max_epochs=1, val_interval=10),
            val_dataloader=None,
            val_cfg=None,
            val_evaluator=None,
            default_hooks=dict(logger=dict(interval=1), checkpoint=None)))
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
    train_set = cfg.train_dataloader.dataset.dataset
    train_set.times = 1
    train_set.dataset.update(data_root=str(roots['nuaa-sirst'][0]),
                             indices=2)
    resize_of(train_set.dataset.pipeline).scale = (128, 128)
    cfg.train_dataloader.batch_size = 2
    cfg.test_dataloader.dataset.update(
        data_root=str(real_root), ann_file='Splits/mini_test.txt', indices=2)
    resize_of(cfg.test_dataloader.dataset.pipeline).scale = (128, 128)
    runner = Runner.from_cfg(cfg)
    losses = []
    runner.register_hook(LossRecorder(losses), priority='LOWEST')
    runner.train()
    assert len(losses) == 1
    assert all(np.isfinite(v) for v in losses[0].values())
    if with_sky:
        assert losses[0]['loss_seg'] == 0.0
    metrics = runner.test()
    for key in ('mask_IoU', 'mask_nIoU', 'mask_Pd', 'mask_Fa_per_mpixel',
                'mAP07'):
        assert np.isfinite(metrics[key]), key
    assert ('sky_IoU' in metrics) == with_sky
    if with_sky:
        assert metrics['sky/mIoU'] == round(metrics['sky_mIoU'] * 100, 2)
        assert metrics['sky/aAcc'] == round(
            metrics['sky_pixel_acc'] * 100, 2)


class LossRecorder(Hook):
    """Records the losses of each training iteration."""

    def __init__(self, losses: list):
        self.losses = losses

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append({k: v.item() for k, v in outputs.items()})


def resize_of(pipeline):
    return next(t for t in pipeline if t.type == 'Resize')

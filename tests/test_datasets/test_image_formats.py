"""Grayscale 8-bit, grayscale 16-bit and 3-channel images pass the dataset's
validation, load through the training pipeline to the same 3-channel 8-bit
array, and train together in one batch."""
import copy
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from PIL import Image

from bafenet.registry import DATASETS, MODELS
from bafenet.utils import set_data_root
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py'
FORMATS = ('gray8', 'gray16', 'rgb')
FOLDERS = (('PNGImages', '.png'), ('SIRST/BBox', '.xml'),
           ('SkySeg/PaletteMask', '.png'))


def convert(path, fmt):
    """Rewrite an 8-bit grayscale PNG in another format, same content."""
    with Image.open(path) as img:
        gray = np.asarray(img.convert('L'))
    if fmt == 'gray16':
        # The full 16-bit range: v * 257 keeps v in the high byte.
        Image.fromarray(gray.astype(np.uint16) * 257).save(path)
    elif fmt == 'rgb':
        Image.fromarray(np.stack([gray] * 3, -1)).save(path)
    else:
        Image.fromarray(gray).save(path)


@pytest.fixture(scope='module')
def formats_root(real_root, tmp_path_factory):
    """Each of 3 real samples twice: as 8-bit grayscale (``<id>``) and in
    one of the formats (``<id>_<format>``)."""
    root = tmp_path_factory.mktemp('formats')
    ids = (real_root / 'Splits/mini_trainval.txt').read_text().split()[:3]
    names = []
    for folder, _ in FOLDERS:
        (root / folder).mkdir(parents=True)
    for i, fmt in zip(ids, FORMATS):
        for name, target in ((i, 'gray8'), (f'{i}_{fmt}', fmt)):
            for folder, suffix in FOLDERS:
                shutil.copy(real_root / folder / f'{i}{suffix}',
                            root / folder / f'{name}{suffix}')
            convert(root / 'PNGImages' / f'{name}.png', target)
            names.append(name)
    (root / 'Splits').mkdir()
    (root / 'Splits/formats.txt').write_text('\n'.join(names))
    return root, ids


def training_dataset(root):
    cfg = Config.fromfile(CONFIG)
    set_data_root(cfg, str(root))
    source = cfg.train_dataloader.dataset.dataset.dataset
    source.ann_file = 'Splits/formats.txt'
    source.indices = None
    for step in source.pipeline:
        if step.type == 'Resize':
            step.scale = (128, 128)
        elif step.type == 'RandomFlip':
            step.prob = 0.0
    source.pipeline.append(dict(type='PackDetInputs'))
    return cfg, DATASETS.build(source)


def test_formats_load_to_the_same_pixels(formats_root):
    root, ids = formats_root
    with Image.open(root / f'PNGImages/{ids[1]}_gray16.png') as img:
        assert img.mode.startswith('I')
    with Image.open(root / f'PNGImages/{ids[2]}_rgb.png') as img:
        assert img.mode == 'RGB'
    _, dataset = training_dataset(root)
    samples = {
        dataset[k]['data_samples'].img_id: dataset[k]['inputs']
        for k in range(len(dataset))
    }
    for i, fmt in zip(ids, FORMATS):
        loaded = samples[f'{i}_{fmt}']
        assert loaded.shape == (3, 128, 128) and loaded.dtype == torch.uint8
        assert torch.equal(loaded, samples[i]), fmt


def test_formats_train_in_one_batch(formats_root):
    root, ids = formats_root
    cfg, dataset = training_dataset(root)
    cfg.model.backbone.merge(dict(init_cfg=None, base_channels=16))
    cfg.model.neck.in_channels = [16, 32, 64, 128]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    index = {dataset[k]['data_samples'].img_id: k for k in range(len(dataset))}
    batch = pseudo_collate(
        [dataset[index[f'{i}_{fmt}']] for i, fmt in zip(ids, FORMATS)])
    before = copy.deepcopy(model.backbone.conv1.weight)
    model.train()
    losses = model.train_step(batch, optim)
    assert all(torch.isfinite(v) for v in losses.values()), losses
    assert not torch.equal(before, model.backbone.conv1.weight)

"""BAFE-Net-R18 learns on real DenseSIRST images (CPU, about a minute)."""
import copy

import numpy as np
import pytest
import torch
from mmdet.apis import init_detector
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.runner import save_checkpoint
from PIL import Image

from bafenet.datasets import DenseSIRSTDataset
from bafenet.registry import DATASETS, MODELS
from bafenet.utils import set_data_root
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'
SIZE = (256, 256)
ITERS = 30


def partly_sky_ids(root, count=4):
    """train_v2 images whose sky covers 30-70% of the frame."""
    dataset = DenseSIRSTDataset(
        data_root=str(root), ann_file='Splits/train_v2.txt', pipeline=[])
    ids = []
    for info in dataset:
        with Image.open(info['seg_map_path']) as seg:
            if 0.3 < np.asarray(seg).mean() < 0.7:
                ids.append(info['img_id'])
        if len(ids) == count:
            return ids
    pytest.fail('not enough partly-sky images in train_v2')


def small_config(root, split_file):
    cfg = Config.fromfile(CONFIG)
    set_data_root(cfg, str(root))
    cfg.model.backbone.init_cfg = None
    source = cfg.train_dataloader.dataset.dataset.dataset
    source.ann_file = str(split_file)
    test = cfg.test_dataloader.dataset
    test.ann_file = str(split_file)
    for step in source.pipeline + test.pipeline:
        if step.type == 'Resize':
            step.scale = SIZE
        elif step.type == 'RandomFlip':
            step.prob = 0.0
    return cfg


@pytest.fixture(scope='module')
def trained(real_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('bafenet')
    split = tmp / 'four.txt'
    split.write_text('\n'.join(partly_sky_ids(real_root)))
    cfg = small_config(real_root, split)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    source = copy.deepcopy(cfg.train_dataloader.dataset.dataset.dataset)
    source.pipeline.append(dict(type='PackDetInputs'))
    dataset = DATASETS.build(source)
    batches = [pseudo_collate([dataset[i] for i in (0, 1)]),
               pseudo_collate([dataset[i] for i in (2, 3)])]
    history = []
    model.train()
    for it in range(ITERS):
        losses = model.train_step(batches[it % 2], optim)
        history.append({k: v.item() for k, v in losses.items()})
    checkpoint = tmp / 'bafenet.pth'
    save_checkpoint(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dataset.metainfo)), str(checkpoint))
    return cfg, checkpoint, history


def mean_of(history, key, part):
    window = history[:6] if part == 'first' else history[-6:]
    return np.mean([h[key] for h in window])


def test_training_lowers_total_and_sky_loss(trained):
    _, _, history = trained
    for key in ('loss', 'loss_seg'):
        first, last = mean_of(history, key, 'first'), mean_of(
            history, key, 'last')
        print(f'{key}: first {first:.4f} last {last:.4f}')
        assert last < 0.8 * first, (key, first, last)


def test_checkpoint_predicts_boxes_and_a_useful_sky_map(trained, real_root):
    cfg, checkpoint, _ = trained
    model = init_detector(cfg, str(checkpoint), device='cpu')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    correct = total = sky = 0
    for i in range(len(dataset)):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        with torch.no_grad():
            result = model.predict(data['inputs'], data['data_samples'])[0]
        info = dataset.get_data_info(i)
        gt = np.asarray(Image.open(info['seg_map_path']))
        pred = result.pred_sem_seg.sem_seg[0].numpy()
        prob = result.pred_sem_seg.sky_prob
        assert pred.shape == gt.shape == (info['height'], info['width'])
        assert prob.shape == (1, *gt.shape)
        assert result.pred_instances.bboxes.shape[1] == 4
        correct += (pred == gt).sum()
        total += gt.size
        sky += gt.sum()
    majority = max(sky, total - sky) / total
    accuracy = correct / total
    print(f'sky pixel accuracy {accuracy:.4f}, majority rate {majority:.4f}')
    assert accuracy > majority, (accuracy, majority)

"""ChannelsLastHook: the same losses and gradients in NHWC, before EMA."""
import copy
from types import SimpleNamespace

import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import EMAHook
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.runner import get_priority

from bafenet.engine import ChannelsLastHook
from bafenet.registry import DATASETS, HOOKS, MODELS
from tests.tiny_configs import tiny_bafenet_config

FULLCOV = 'bafenet/bafenet-fullcov_r18_fpn_20e_densesirst.py'


def real_batch(cfg):
    """Two real training samples of ``cfg`` (BAG-CP off), at 96x96."""
    source = copy.deepcopy(cfg.train_dataloader.dataset.dataset.dataset)
    source.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadDetSegAnnotations'),
        dict(type='Resize', scale=(96, 96), keep_ratio=False),
        dict(type='PackDetInputs')
    ]
    source.indices = 2
    dataset = DATASETS.build(source)
    return pseudo_collate([dataset[0], dataset[1]])


def test_channels_last_model_matches_the_contiguous_one(real_root):
    # the fullcov head runs the LSK attention's dilated depthwise conv on P2
    cfg = tiny_bafenet_config(real_root, config=FULLCOV)
    cfg.train_dataloader.dataset.dataset.dataset.data_root = str(real_root)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    nhwc = copy.deepcopy(model)
    parameters = dict(nhwc.named_parameters())
    ChannelsLastHook().before_run(SimpleNamespace(model=nhwc))

    for name, param in nhwc.named_parameters():
        assert param is parameters[name], name  # the optimizer's objects
        if param.dim() == 4:
            assert param.is_contiguous(memory_format=torch.channels_last)
            if param.shape[1] > 1 and param.shape[-1] > 1:  # else both
                assert not param.is_contiguous(), name
    batch = real_batch(cfg)
    losses = [
        m(**m.data_preprocessor(copy.deepcopy(batch), True), mode='loss')
        for m in (model, nhwc)
    ]
    assert losses[0].keys() == losses[1].keys()
    for key in losses[0]:
        torch.testing.assert_close(
            losses[1][key], losses[0][key], rtol=1e-4, atol=1e-5)
    sum(losses[0].values()).backward()
    sum(losses[1].values()).backward()
    for (name, a), b in zip(model.named_parameters(), nhwc.parameters()):
        torch.testing.assert_close(
            b.grad, a.grad, rtol=1e-3, atol=1e-5, msg=name)


def test_hook_is_registered_and_runs_before_ema():
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    assert isinstance(hook, ChannelsLastHook)
    assert 'EMAHook' in MMENGINE_HOOKS
    assert get_priority(hook.priority) < get_priority(EMAHook.priority)

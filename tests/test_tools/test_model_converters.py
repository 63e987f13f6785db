"""tools/model_converters/bafenet_original_to_ours.py on state dicts named
and shaped like the original code's (GrokCV/BAFE-Net,
deepir/models/dense_heads/fcos_changer_seg_head.py at 30dc53e and
cd1ae23)."""
import importlib.util
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.config import Config

from bafenet.registry import MODELS
from tests.conftest import REPO_ROOT

CONVERTER = REPO_ROOT / 'tools/model_converters/bafenet_original_to_ours.py'
ORIGINAL = REPO_ROOT / 'configs/original'


def load_converter():
    spec = importlib.util.spec_from_file_location('converter', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class conv_bn_relu(nn.Module):
    """The original's fusion block: ``layer`` = conv3x3 with bias, BN,
    ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.layer = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
            nn.ReLU())

    def forward(self, x):
        return self.layer(x)


def linear_mlp(width, hidden=64):
    mlp = nn.Module()
    mlp.fc1, mlp.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)
    return mlp


def lsk(c):
    """The original's LSKModule / LSKLayer layers."""
    module = nn.Module()
    module.conv0 = nn.Conv2d(c, c, 5, padding=2, groups=c)
    module.conv_spatial = nn.Conv2d(c, c, 7, padding=9, groups=c, dilation=3)
    module.conv1, module.conv2 = nn.Conv2d(c, c // 2, 1), nn.Conv2d(
        c, c // 2, 1)
    module.conv_squeeze = nn.Conv2d(2, 2, 7, padding=3)
    module.conv = nn.Conv2d(c // 2, c, 1)
    return module


def original_extra_modules(version, c=256):
    """The modules FCOSChangerSegHead adds to deepir's FCOSSegHead (whose
    towers and predictors are named as mmdet's FCOSHead and ours)."""
    head = nn.Module()
    bn = dict(type='BN')
    head.conv_squeeze_tgt = ConvModule(c, c // 2, 1, norm_cfg=bn)
    head.conv_squeeze_bg = ConvModule(c, c // 2, 1, norm_cfg=bn)
    head.conv_mix = ConvModule(c, c, 1, norm_cfg=bn)
    head.conv_reduce = ConvModule(c, c // 4, 1, norm_cfg=bn)
    head.gen_weight = ConvModule(c // 4, 9 * (c // 16), 1, act_cfg=None)
    head.fusion_conv = ConvModule(
        c, c // 2, 1, norm_cfg=dict(type='GN', num_groups=32))
    for task in ('cls', 'seg', 'reg'):
        setattr(head, f'convs_{task}',
                nn.Sequential(conv_bn_relu(c, c // 2),
                              conv_bn_relu(c // 2, c)))
    head.ChannelEx = nn.Module()
    if version == 'v1':
        head.ChannelEx.mlp_exchange = linear_mlp(1)
    else:
        head.ChannelEx.mlp = linear_mlp(c // 2)
        head.ChannelEx.attention_mask = lsk(c)
        head.LSKModule = lsk(c)
    head.conv_spatial = nn.Conv2d(c, c, 3, padding=1, groups=c)
    head.conv_squeeze = nn.Conv2d(2, 1, 3, padding=1)
    head.conv_post = nn.Conv2d(c, c, 1)
    return head


def build_ours(config):
    cfg = Config.fromfile(ORIGINAL / config)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def original_state_dict(version, ours):
    """Ours' shared keys plus the original head's own, with random values
    (BN statistics included)."""
    torch.manual_seed(1)
    extra = original_extra_modules(version)
    for name, tensor in extra.state_dict().items():
        if tensor.is_floating_point():
            tensor.copy_(torch.rand_like(tensor) + 0.5 if 'running_var' in
                         name else torch.randn_like(tensor))
    state = {
        k: v
        for k, v in ours.state_dict().items()
        if not k.startswith(('bbox_head.cls_fuse', 'bbox_head.seg_fuse',
                             'bbox_head.exchange', 'bbox_head.lsk'))
    }
    state.update(
        {f'bbox_head.{k}': v
         for k, v in extra.state_dict().items()})
    assert sum(v.numel() for k, v in extra.state_dict().items()
               if not k.startswith(('ChannelEx', 'LSKModule', 'convs_cls',
                                    'convs_seg'))
               and 'running' not in k and 'num_batches' not in k) + 768 \
        == 851107
    return state, extra


def test_v1_checkpoint_converts_exactly():
    converter = load_converter()
    ours = build_ours('bafenet-v1_r18_fpn_20e_densesirst.py')
    state, extra = original_state_dict('v1', ours)
    converted = converter.convert(state)
    ours.load_state_dict(converted, strict=True)
    assert converter.head_version(state) == 'v1'
    # The v1 exchange, computed as the original does it with its own
    # modules: fusion convs (with bias), then the even channels swapped
    # through the scalar nn.Linear MLP.
    extra.eval()
    cls, seg = torch.randn(2, 256, 5, 4), torch.randn(2, 256, 5, 4)
    seg_f, cls_f = extra.convs_seg(seg), extra.convs_cls(cls)
    mlp = extra.ChannelEx.mlp_exchange

    def f(x):
        return mlp.fc2(mlp.fc1(x.reshape(-1, 1)).relu()).view(x.shape)

    expect_seg, expect_cls = seg_f.clone(), cls_f.clone()
    expect_seg[:, 0::2] = f(cls_f[:, 0::2])
    expect_cls[:, 0::2] = f(seg_f[:, 0::2])
    with torch.no_grad():
        got_cls, got_seg = ours.bbox_head.interact(cls, seg)
    torch.testing.assert_close(got_cls, expect_cls, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(got_seg, expect_seg, rtol=1e-4, atol=1e-3)


def test_dynamic_checkpoint_converts():
    converter = load_converter()
    ours = build_ours('bafenet_r50_fpn_20e_densesirst.py')
    state, extra = original_state_dict('dynamic', ours)
    converted = converter.convert(state)
    ours.load_state_dict(converted, strict=True)
    head = ours.bbox_head
    torch.testing.assert_close(head.lsk.conv_out.weight,
                               extra.LSKModule.conv.weight)
    torch.testing.assert_close(head.exchange.scorer.conv_wide.weight,
                               extra.ChannelEx.attention_mask.conv_spatial
                               .weight)
    torch.testing.assert_close(head.exchange.mlp[2].weight[:, :, 0, 0],
                               extra.ChannelEx.mlp.fc2.weight)


def test_cli_converts_and_refuses_unknown_keys(tmp_path):
    ours = build_ours('bafenet-v1_r18_fpn_20e_densesirst.py')
    state, _ = original_state_dict('v1', ours)
    src, dst = tmp_path / 'original.pth', tmp_path / 'ours.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=5)), src)
    proc = subprocess.run([sys.executable, CONVERTER, src, dst],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    saved = torch.load(dst, weights_only=True)
    assert saved['meta'] == dict(epoch=5)
    ours.load_state_dict(saved['state_dict'], strict=True)

    state['bbox_head.SpatialEx.mlp_exchange.fc1.weight'] = torch.zeros(64, 1)
    torch.save(dict(state_dict=state), src)
    proc = subprocess.run([sys.executable, CONVERTER, src, dst],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'original.pth: unknown key in the original head: ' \
        'bbox_head.SpatialEx' in proc.stderr
    with pytest.raises(KeyError, match='not a checkpoint'):
        load_converter().convert({'backbone.conv1.weight': torch.zeros(1)})

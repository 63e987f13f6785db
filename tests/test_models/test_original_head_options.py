"""The options of BAFEHead and CrossTaskExchange that rebuild the original
code's heads, on hand-checked small cases."""
import math

import pytest
import torch

from bafenet.models.layers import CrossTaskExchange, LSKAttention
from bafenet.registry import MODELS
from tests.test_models.test_heads import build_head, features, samples

V1 = dict(
    attention_mode='none',
    exchange_cfg=dict(
        type='CrossTaskExchange',
        mode='static',
        mlp_form='scalar',
        mlp_init='pytorch'))


def test_scalar_mlp_has_193_parameters():
    module = CrossTaskExchange(256, mode='static', mlp_form='scalar')
    assert sum(p.numel() for p in module.parameters()) == 193
    vector = CrossTaskExchange(256, mode='static')
    assert sum(p.numel() for p in vector.parameters()) == 16576


def test_scalar_mlp_maps_each_value_on_its_own():
    # hidden 2: f(v) = 1 * relu(v) + 2 * relu(-v + 1) + 0.5
    module = CrossTaskExchange(
        4, mode='static', hidden_channels=2, mlp_form='scalar')
    with torch.no_grad():
        module.mlp[0].weight.copy_(torch.tensor([1., -1.]).view(2, 1, 1, 1))
        module.mlp[0].bias.copy_(torch.tensor([0., 1.]))
        module.mlp[2].weight.copy_(torch.tensor([1., 2.]).view(1, 2, 1, 1))
        module.mlp[2].bias.fill_(0.5)
    a = torch.arange(16.).view(1, 4, 2, 2)
    b = -torch.arange(16.).view(1, 4, 2, 2) / 4
    out_a, out_b = module(a, b)
    # even channels 0 and 2 are exchanged; odd ones pass unchanged
    for c in (1, 3):
        assert torch.equal(out_a[0, c], a[0, c])
        assert torch.equal(out_b[0, c], b[0, c])
    # b[0, 0] = [[0, -0.25], [-0.5, -0.75]] -> f = [[2.5, 3], [3.5, 4]]
    torch.testing.assert_close(out_a[0, 0],
                               torch.tensor([[2.5, 3.0], [3.5, 4.0]]))
    # a[0, 2] = [[8, 9], [10, 11]] -> f(v) = v + 0.5 (v >= 1)
    torch.testing.assert_close(out_b[0, 2],
                               torch.tensor([[8.5, 9.5], [10.5, 11.5]]))


def test_static_selection_is_the_even_channels():
    module = CrossTaskExchange(256, mode='static')
    index = module.static_indices(3)
    assert index.shape == (3, 128)
    assert torch.equal(index[1], torch.arange(0, 256, 2))


@pytest.mark.parametrize('mlp_form', ['vector', 'scalar'])
def test_mlp_init_in_the_head(mlp_form):
    cfg = dict(type='CrossTaskExchange', mlp_form=mlp_form)
    normal = build_head('BAFEHead', exchange_cfg=dict(cfg, mlp_init='normal'))
    pytorch = build_head(
        'BAFEHead', exchange_cfg=dict(cfg, mlp_init='pytorch'))
    for head in (normal, pytorch):
        torch.manual_seed(1)
        head.init_weights()
    k = 16 if mlp_form == 'vector' else 1  # feat_channels 32, ratio 0.5
    for index, fan_in in ((0, k), (2, 64)):
        layer = normal.exchange.mlp[index]
        assert layer.bias.abs().max() == 0
        assert layer.weight.std().item() == pytest.approx(0.01, rel=0.5)
        # nn.Linear's default: weights and biases uniform in +-1/sqrt(fan_in)
        bound = 1 / math.sqrt(fan_in)
        layer = pytorch.exchange.mlp[index]
        assert layer.weight.abs().max() <= bound
        assert layer.bias.abs().max() <= bound
        assert layer.weight.abs().max() > 0.8 * bound
    # the rest of the head keeps its Normal(0, 0.01) init either way
    torch.testing.assert_close(pytorch.conv_seg.weight, normal.conv_seg.weight)


def interact_by_hand(head, cls_feat, seg_feat, mode):
    if mode != 'none':
        both = torch.cat([cls_feat, seg_feat])
        attn = head.lsk(both)
        cls_feat, seg_feat = (attn if mode == 'replace' else both *
                              attn).chunk(2)
    seg_feat, cls_feat = head.exchange(
        head.seg_fuse(seg_feat), head.cls_fuse(cls_feat))
    return cls_feat, seg_feat


@pytest.mark.parametrize('mode', ['multiply', 'replace', 'none'])
def test_attention_modes(mode):
    head = build_head('BAFEHead', attention_mode=mode).eval()
    assert hasattr(head, 'lsk') == (mode != 'none')
    cls_feat, seg_feat = torch.randn(2, 32, 6, 6), torch.randn(2, 32, 6, 6)
    with torch.no_grad():
        got = head.interact(cls_feat, seg_feat)
        expected = interact_by_hand(head, cls_feat, seg_feat, mode)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)
    if mode == 'replace':
        # the tower features reach the fusion convs only through LSK
        with torch.no_grad():
            other = head.interact(cls_feat, seg_feat + 1)
        assert not torch.equal(other[1], got[1])


def test_v1_head_trains_every_parameter():
    head = build_head('BAFEHead', **V1)
    assert not hasattr(head, 'lsk') and not hasattr(head.exchange, 'scorer')
    assert sum(p.numel() for p in head.exchange.parameters()) == 193
    sum(head.loss(features(2), samples(2)).values()).backward()
    assert [n for n, p in head.named_parameters() if p.grad is None] == []


def test_layers_build_from_the_registry():
    assert isinstance(
        MODELS.build(dict(type='LSKAttention', channels=8)), LSKAttention)
    module = MODELS.build(
        dict(type='CrossTaskExchange', channels=8, mlp_form='scalar'))
    assert isinstance(module, CrossTaskExchange)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match='attention_mode'):
        build_head('BAFEHead', attention_mode='add')
    with pytest.raises(ValueError, match='exchange ratio'):
        build_head('BAFEHead', exchange_cfg=dict(ratio=1.5))
    with pytest.raises(ValueError, match='mlp_form'):
        CrossTaskExchange(8, mlp_form='matrix')
    with pytest.raises(ValueError, match='mlp_init'):
        CrossTaskExchange(8, mlp_init='xavier')

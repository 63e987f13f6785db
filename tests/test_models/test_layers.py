"""LSKAttention and its dilated depthwise convolution."""
import pytest
import torch
import torch.nn.functional as F

from bafenet.models.layers import DilatedDepthwiseConv2d, LSKAttention


@pytest.mark.parametrize('height,width', [(64, 64), (17, 23), (5, 4),
                                          (2, 1)])
def test_phase_split_equals_the_dilated_convolution(height, width):
    torch.manual_seed(0)
    conv = DilatedDepthwiseConv2d(8, 7, dilation=3)
    x = torch.randn(2, 8, height, width, requires_grad=True)
    out = conv(x)
    expected = F.conv2d(x, conv.weight, conv.bias, padding=9, dilation=3,
                        groups=8)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(out)
    ours = torch.autograd.grad(out, (x, conv.weight), grad)
    theirs = torch.autograd.grad(expected, (x, conv.weight), grad)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_lsk_attention_shape_and_parameters():
    lsk = LSKAttention(256)
    assert sum(p.numel() for p in lsk.parameters()) == 118_470
    assert lsk(torch.randn(2, 256, 9, 7)).shape == (2, 256, 9, 7)


def test_traced_graph_holds_one_dilated_convolution():
    """Tracing (as the ONNX exporters do) records the plain dilated
    convolution, not the CPU phase split, so the graph runs at any size."""
    torch.manual_seed(0)
    conv = DilatedDepthwiseConv2d(8, 7, dilation=3).eval()
    traced = torch.jit.trace(conv, torch.randn(1, 8, 32, 32))
    kinds = {node.kind() for node in traced.graph.nodes()}
    assert 'aten::_convolution' in kinds or 'aten::conv2d' in kinds
    assert not kinds & {'aten::pad', 'aten::constant_pad_nd', 'aten::permute'}
    x = torch.randn(2, 8, 17, 23)
    torch.testing.assert_close(traced(x), conv(x), rtol=1e-5, atol=1e-5)

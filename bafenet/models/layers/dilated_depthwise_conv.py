"""Dilated depthwise convolution with a fast CPU path."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class DilatedDepthwiseConv2d(nn.Conv2d):
    """A depthwise ``nn.Conv2d`` (stride 1, 'same' padding) whose dilated
    convolution runs on CPU as dense convolutions over the dilation's phase
    sub-grids.

    A k x k kernel with dilation d only combines pixels whose coordinates
    agree modulo d, so ``out[..., i::d, j::d]`` is the dense k x k
    convolution of ``x[..., i::d, j::d]`` with the same kernel. The d*d phase
    grids are stacked along the batch and convolved in one call. The result
    is identical (up to float rounding); oneDNN's dilated depthwise kernel is
    about 10x slower than the dense one on CPU. On other devices the plain
    convolution runs, and so it does while the module is traced or exported
    (ONNX, ``torch.jit.trace``, ``torch.export``): an exported graph holds
    one dilated convolution, whatever the device it was traced on, and
    leaves the choice of kernel to its runtime. Parameters and state dict
    are those of ``nn.Conv2d``.

    Args:
        channels (int): Input and output channels (groups = channels).
        kernel_size (int): k, odd.
        dilation (int): d.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__(
            channels,
            channels,
            kernel_size,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
            groups=channels)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        d = self.dilation[0]
        if x.device.type != 'cpu' or d == 1 or is_exporting():
            return super().forward(x)
        batch, channels, height, width = x.shape
        # zero rows/columns at the end change nothing: the convolution pads
        # with zeros anyway; they make H and W multiples of d
        x = F.pad(x, (0, -width % d, 0, -height % d))
        h, w = x.shape[2] // d, x.shape[3] // d
        phases = x.view(batch, channels, h, d, w, d).permute(
            0, 3, 5, 1, 2, 4).reshape(batch * d * d, channels, h, w)
        out = F.conv2d(
            phases,
            self.weight,
            self.bias,
            padding=(self.kernel_size[0] - 1) // 2,
            groups=self.groups)
        out = out.view(batch, d, d, channels, h, w).permute(
            0, 3, 4, 1, 5, 2).reshape(batch, channels, h * d, w * d)
        return out[:, :, :height, :width]


def is_exporting() -> bool:
    """Whether the running code is being traced into a graph: by the ONNX
    exporters, ``torch.jit.trace`` or ``torch.export``."""
    # torch.compiler.is_exporting is absent from older torch
    exporting = getattr(torch.compiler, 'is_exporting', None)
    return (torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()
            or (exporting is not None and exporting()))

"""Large selective kernel (LSK) spatial attention."""
import torch
import torch.nn as nn
from torch import Tensor

from bafenet.registry import MODELS
from .dilated_depthwise_conv import DilatedDepthwiseConv2d


@MODELS.register_module()
class LSKAttention(nn.Module):
    """The spatial attention map of an LSK block (Li et al., ICCV 2023).

    Two depthwise convolutions of growing receptive field (5x5, then 7x7 with
    dilation 3) give two context maps; a 7x7 conv over their channel mean and
    max decides, per pixel, how to mix them; a 1x1 conv maps the mixture
    back to ``channels``.

    Args:
        channels (int): Input and output channels C.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv_local = nn.Conv2d(
            channels, channels, 5, padding=2, groups=channels)
        self.conv_wide = DilatedDepthwiseConv2d(channels, 7, dilation=3)
        self.reduce_local = nn.Conv2d(channels, channels // 2, 1)
        self.reduce_wide = nn.Conv2d(channels, channels // 2, 1)
        self.conv_squeeze = nn.Conv2d(2, 2, 7, padding=3)
        self.conv_out = nn.Conv2d(channels // 2, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Map x (B, C, H, W) to the attention (B, C, H, W)."""
        local = self.conv_local(x)
        wide = self.conv_wide(local)
        local, wide = self.reduce_local(local), self.reduce_wide(wide)
        both = torch.cat([local, wide], dim=1)
        pooled = torch.cat(
            [both.mean(dim=1, keepdim=True),
             both.amax(dim=1, keepdim=True)], dim=1)
        select = self.conv_squeeze(pooled).sigmoid()
        return self.conv_out(local * select[:, :1] + wide * select[:, 1:])

"""The BAFE-Net head: FCOSSegHead plus background-aware feature exchange."""
from typing import Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType
from torch import Tensor

from bafenet.registry import MODELS
from ..layers import CrossTaskExchange, LSKAttention
from .fcos_seg_head import FCOSSegHead


@MODELS.register_module()
class BAFEHead(FCOSSegHead):
    """FCOSSegHead whose classification and segmentation towers exchange
    channels, so that each task sees the other's semantics.

    After the towers, at every level (weights shared across levels)::

        F_cls, F_seg                       (B, C, H, W) each
        F <- F * LSK(F)                    LSK spatial attention, one set of
                                           weights for both towers
        F <- ConvBNReLU(C/2 -> C)(ConvBNReLU(C -> C/2)(F))  per task
        F_seg, F_cls <- CrossTaskExchange(F_seg, F_cls)
        cls score, centerness <- F_cls;  sky logit <- F_seg

    The regression tower takes no part, as in the original.

    Args:
        exchange_ratio (float): p, the fraction of channels exchanged each
            way; 0 turns the exchange off (attention and convs stay).
        exchange_mode (str): ``'dynamic'`` (per-sample top-k by a learned
            channel score) or ``'static'`` (fixed evenly spaced channels).
        mlp_hidden_channels (int): Hidden width of the exchange MLP.
        learn_scores (bool): Give the channel scorer a gradient by weighting
            the exchanged channels with their scores (False: original code).
        fuse_norm_cfg (dict): Norm of the two convs per task.
        **kwargs: Arguments of :class:`FCOSSegHead`.
    """

    def __init__(self,
                 *args,
                 exchange_ratio: float = 0.5,
                 exchange_mode: str = 'dynamic',
                 mlp_hidden_channels: int = 64,
                 learn_scores: bool = True,
                 fuse_norm_cfg: ConfigType = dict(type='BN'),
                 **kwargs) -> None:
        # read by _init_layers, which FCOSHead.__init__ calls
        self.exchange_cfg = dict(
            ratio=exchange_ratio,
            mode=exchange_mode,
            hidden_channels=mlp_hidden_channels,
            learn_scores=learn_scores)
        self.fuse_norm_cfg = fuse_norm_cfg
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        super()._init_layers()
        channels = self.feat_channels
        self.lsk = LSKAttention(channels)
        self.cls_fuse = self._fuse_convs(channels)
        self.seg_fuse = self._fuse_convs(channels)
        self.exchange = CrossTaskExchange(channels, **self.exchange_cfg)

    def _fuse_convs(self, channels: int) -> nn.Sequential:
        return nn.Sequential(
            ConvModule(
                channels, channels // 2, 3, padding=1,
                norm_cfg=self.fuse_norm_cfg),
            ConvModule(
                channels // 2, channels, 3, padding=1,
                norm_cfg=self.fuse_norm_cfg))

    def interact(self, cls_feat: Tensor,
                 seg_feat: Tensor) -> Tuple[Tensor, Tensor]:
        """Attention, fusion convs and the hard exchange; (B, C, H, W) each."""
        both = torch.cat([cls_feat, seg_feat])
        cls_feat, seg_feat = (both * self.lsk(both)).chunk(2)
        seg_feat, cls_feat = self.exchange(
            self.seg_fuse(seg_feat), self.cls_fuse(cls_feat))
        return cls_feat, seg_feat

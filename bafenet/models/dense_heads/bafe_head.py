"""The BAFE-Net head: FCOSSegHead plus background-aware feature exchange."""
from typing import Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType
from torch import Tensor

from bafenet.registry import MODELS
from .fcos_seg_head import FCOSSegHead

#: The exchange of our BAFE-Net configs: half the channels each way, chosen
#: per sample by a learning scorer (docs/method.md, section 3).
DEFAULT_EXCHANGE = dict(
    type='CrossTaskExchange',
    ratio=0.5,
    mode='dynamic',
    hidden_channels=64,
    learn_scores=True)


@MODELS.register_module()
class BAFEHead(FCOSSegHead):
    """FCOSSegHead whose classification and segmentation towers exchange
    channels, so that each task sees the other's semantics.

    After the towers, at every level (weights shared across levels)::

        F_cls, F_seg                       (B, C, H, W) each
        F <- F * A(F)                      spatial attention A (LSK), one set
                                           of weights for both towers
        F <- ConvBNReLU(C/2 -> C)(ConvBNReLU(C -> C/2)(F))  per task
        F_seg, F_cls <- CrossTaskExchange(F_seg, F_cls)
        cls score, centerness <- F_cls;  sky logit <- F_seg

    The regression tower takes no part, as in the original.

    Args:
        exchange_cfg (dict): Config of the exchange module, built with
            ``channels`` (``feat_channels``); ``type`` defaults to
            ``'CrossTaskExchange'``, whose arguments are ``ratio`` (p, the
            fraction of channels exchanged each way; 0 turns the exchange
            off, attention and convs stay), ``mode`` (``'dynamic'``:
            per-sample top-k by a channel score; ``'static'``: fixed evenly
            spaced channels), ``hidden_channels`` (of the scoring MLP),
            ``learn_scores`` (give the channel scorer a gradient by
            weighting the exchanged channels with their scores; False: the
            original code), ``mlp_form`` and ``mlp_init``. Defaults to
            :data:`DEFAULT_EXCHANGE`.
        attention_mode (str): How the attention map A(F) acts on the towers:
            ``'multiply'`` (F * A(F), the standard LSK block), ``'replace'``
            (A(F) replaces F, the original's August-2024 code) or ``'none'``
            (no attention module, the original's July-2024 code).
        attention_cfg (dict): Config of the attention module, built with
            ``channels`` (``feat_channels``).
        fuse_norm_cfg (dict): Norm of the two convs per task.
        **kwargs: Arguments of :class:`FCOSSegHead`.
    """

    def __init__(self,
                 *args,
                 exchange_cfg: ConfigType = DEFAULT_EXCHANGE,
                 attention_mode: str = 'multiply',
                 attention_cfg: ConfigType = dict(type='LSKAttention'),
                 fuse_norm_cfg: ConfigType = dict(type='BN'),
                 **kwargs) -> None:
        if attention_mode not in ('multiply', 'replace', 'none'):
            raise ValueError("attention_mode must be 'multiply', 'replace' "
                             f"or 'none', got {attention_mode!r}")
        # read by _init_layers, which FCOSHead.__init__ calls
        self.attention_mode = attention_mode
        self.attention_cfg = attention_cfg
        self.exchange_cfg = dict(type='CrossTaskExchange', **exchange_cfg) \
            if 'type' not in exchange_cfg else dict(exchange_cfg)
        self.fuse_norm_cfg = fuse_norm_cfg
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        super()._init_layers()
        channels = self.feat_channels
        if self.attention_mode != 'none':
            self.lsk = MODELS.build(
                dict(self.attention_cfg, channels=channels))
        self.cls_fuse = self._fuse_convs(channels)
        self.seg_fuse = self._fuse_convs(channels)
        self.exchange = MODELS.build(
            dict(self.exchange_cfg, channels=channels))

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
        if self.attention_mode != 'none':
            both = torch.cat([cls_feat, seg_feat])
            attn = self.lsk(both)
            if self.attention_mode == 'multiply':
                attn = both * attn
            cls_feat, seg_feat = attn.chunk(2)
        seg_feat, cls_feat = self.exchange(
            self.seg_fuse(seg_feat), self.cls_fuse(cls_feat))
        return cls_feat, seg_feat

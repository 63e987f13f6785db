"""FCOS with a sky-segmentation branch: the multi-task baseline."""
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, Scale
from mmdet.models.utils import multi_apply, unpack_gt_instances
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from bafenet.registry import MODELS
from .sync_free_fcos_head import SyncFreeFCOSHead


@MODELS.register_module()
class FCOSSegHead(SyncFreeFCOSHead):
    """FCOS head plus a sky-segmentation tower and a 1-channel sky logit.

    The segmentation tower mirrors the classification tower
    (``stacked_convs`` x [3x3 conv, norm, ReLU]) and, like the other towers,
    its weights are shared by all FPN levels. Every level predicts a sky
    logit; the sky loss compares each with ``gt_sem_seg`` brought to that
    level's size (nearest neighbour) and averages over all pixels of all
    levels that are not ``ignore_index``.

    Subclasses change how the towers talk to each other by overriding
    :meth:`interact`; here the towers are independent.

    Args:
        loss_seg (dict): Sky loss config: sigmoid cross-entropy whose
            ``loss_weight`` is the sky-loss weight and whose
            ``ignore_index`` marks pixels without a label.
        sky_level (int): The index, in ``strides``, of the FPN level whose
            sky logit gives the predicted sky map: 0 is the finest (stride 8
            with P3-P5, stride 4 once the FPN also outputs P2). Defaults to
            0. The sky loss covers every level the neck outputs.
        **kwargs: Arguments of :class:`SyncFreeFCOSHead` (mmdet's
            ``FCOSHead``, whose targets and losses it computes without
            device syncs, plus its full-coverage options).
    """

    def __init__(self,
                 *args,
                 loss_seg: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     ignore_index=255,
                     avg_non_ignore=True,
                     loss_weight=1.0),
                 sky_level: int = 0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0 <= sky_level < len(self.strides):
            raise ValueError(f'sky_level={sky_level}: the head has '
                             f'{len(self.strides)} levels {self.strides}')
        self.loss_seg = MODELS.build(loss_seg)
        self.seg_ignore_index = loss_seg.get('ignore_index', 255)
        self.sky_level = sky_level

    def _init_layers(self) -> None:
        super()._init_layers()
        self.seg_convs = nn.ModuleList([
            ConvModule(
                self.in_channels if i == 0 else self.feat_channels,
                self.feat_channels,
                3,
                stride=1,
                padding=1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                bias=self.conv_bias) for i in range(self.stacked_convs)
        ])
        self.conv_seg = nn.Conv2d(self.feat_channels, 1, 3, padding=1)

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], ...]:
        """Forward all FPN levels.

        Args:
            x (tuple[Tensor]): FPN features, each (B, C, H_l, W_l).

        Returns:
            tuple[list[Tensor]]: Per level: ``cls_scores`` (B, num_classes,
            H_l, W_l), ``bbox_preds`` (B, 4, H_l, W_l), ``centernesses``
            (B, 1, H_l, W_l) and ``seg_logits`` (B, 1, H_l, W_l).
        """
        return multi_apply(self.forward_single, x, self.scales, self.strides)

    def forward_single(self, x: Tensor, scale: Scale,
                       stride: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Forward one FPN level, (B, C, H, W), through all towers."""
        cls_feat, reg_feat, seg_feat = x, x, x
        for cls_layer, reg_layer, seg_layer in zip(self.cls_convs,
                                                   self.reg_convs,
                                                   self.seg_convs):
            cls_feat = cls_layer(cls_feat)
            reg_feat = reg_layer(reg_feat)
            seg_feat = seg_layer(seg_feat)
        cls_feat, seg_feat = self.interact(cls_feat, seg_feat)

        cls_score = self.conv_cls(cls_feat)
        centerness = self.conv_centerness(
            reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = self.distances(self.conv_reg(reg_feat), scale, stride)
        return cls_score, bbox_pred, centerness, self.conv_seg(seg_feat)

    def interact(self, cls_feat: Tensor,
                 seg_feat: Tensor) -> Tuple[Tensor, Tensor]:
        """Let the classification and segmentation towers exchange
        information; both (B, C, H, W). The baseline keeps them apart."""
        return cls_feat, seg_feat

    def loss(self, x: Tuple[Tensor],
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Detection losses of FCOS plus ``loss_seg``.

        Args:
            x (tuple[Tensor]): FPN features.
            batch_data_samples (list[DetDataSample]): With ``gt_instances``
                and ``gt_sem_seg`` (padded to the batch by the data
                preprocessor with ``pad_seg=True``).
        """
        cls_scores, bbox_preds, centernesses, seg_logits = self(x)
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = \
            unpack_gt_instances(batch_data_samples)
        losses = self.loss_by_feat(cls_scores, bbox_preds, centernesses,
                                   batch_gt_instances, batch_img_metas,
                                   batch_gt_instances_ignore)
        gt_sem_seg = torch.stack(
            [sample.gt_sem_seg.sem_seg for sample in batch_data_samples])
        losses['loss_seg'] = self.loss_seg_by_feat(seg_logits, gt_sem_seg)
        return losses

    def loss_seg_by_feat(self, seg_logits: List[Tensor],
                         gt_sem_seg: Tensor) -> Tensor:
        """Sky loss over all levels.

        Args:
            seg_logits (list[Tensor]): Per level (B, 1, H_l, W_l).
            gt_sem_seg (Tensor): (B, 1, H, W) labels (0 others, 1 sky,
                ``ignore_index``) on the padded batch.

        Returns:
            Tensor: The scalar loss, averaged over labelled pixels.
        """
        logits, labels = [], []
        for logit in seg_logits:
            label = F.interpolate(
                gt_sem_seg.float(), size=logit.shape[-2:], mode='nearest')
            logits.append(logit.flatten())
            labels.append(label.flatten().long())
        logits, labels = torch.cat(logits), torch.cat(labels)
        # an explicit average keeps the device free of a .item() sync
        num_labelled = (labels != self.seg_ignore_index).sum().clamp(min=1)
        return self.loss_seg(logits, labels, avg_factor=num_labelled)

    def predict(self,
                x: Tuple[Tensor],
                batch_data_samples: SampleList,
                rescale: bool = False) -> Tuple[InstanceList, List[Tensor]]:
        """Boxes and sky probabilities.

        Returns:
            tuple: ``(results, sky_probs)``: mmdet's per-image
            ``InstanceData`` (``bboxes``, ``scores``, ``labels``) and the sky
            probability of each image, (1, H, W) at the original size when
            ``rescale`` else at the resized input size.
        """
        batch_img_metas = [s.metainfo for s in batch_data_samples]
        cls_scores, bbox_preds, centernesses, seg_logits = self(x)
        results = self.predict_by_feat(
            cls_scores,
            bbox_preds,
            centernesses,
            batch_img_metas=batch_img_metas,
            rescale=rescale)
        sky_probs = self.predict_sky(seg_logits[self.sky_level],
                                     batch_img_metas, rescale)
        return results, sky_probs

    @staticmethod
    def predict_sky(seg_logit: Tensor, batch_img_metas: List[dict],
                    rescale: bool) -> List[Tensor]:
        """Sky probability maps of a batch.

        Args:
            seg_logit (Tensor): (B, 1, h, w) logits of one level of the padded
                batch.
            batch_img_metas (list[dict]): With ``batch_input_shape``,
                ``img_shape`` and ``ori_shape``.
            rescale (bool): Resize to ``ori_shape`` (else ``img_shape``).

        Returns:
            list[Tensor]: Per image, (1, H, W) probabilities in [0, 1].
        """
        logits = F.interpolate(
            seg_logit,
            size=batch_img_metas[0]['batch_input_shape'],
            mode='bilinear',
            align_corners=False)
        probs = []
        for logit, meta in zip(logits, batch_img_metas):
            h, w = meta['img_shape'][:2]
            logit = logit[:, :h, :w]
            if rescale:
                logit = F.interpolate(
                    logit[None],
                    size=meta['ori_shape'][:2],
                    mode='bilinear',
                    align_corners=False)[0]
            probs.append(logit.sigmoid())
        return probs

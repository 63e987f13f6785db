"""FCOS head whose target assignment and losses never synchronise the
device."""
from typing import Dict, List, Tuple

import torch
from mmcv.cnn import Scale
from mmdet.models.dense_heads import FCOSHead
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from bafenet.registry import MODELS, TASK_UTILS
from ..task_modules import fpn_points


@MODELS.register_module()
class SyncFreeFCOSHead(FCOSHead):
    """mmdet's ``FCOSHead`` with the same targets and losses computed on
    fixed-shape tensors, so that a training step never waits for the device.

    mmdet gathers the positive points with ``nonzero``, branches on their
    number, takes Python ``max`` of reduced counts and writes targets through
    boolean masks; on a GPU each of these copies a value to the host and
    stalls the stream. Here every point of the batch stays in the tensors:

    - assignment uses ``masked_fill``, ``torch.where`` and ``gather``
      instead of boolean-mask writes and ``range`` indexing, and builds its
      constants with ``new_full`` rather than from Python lists;
    - the losses of the positives are dense losses weighted by the 0/1
      positive mask (times the centerness target for the box loss);
    - the averaging factors stay tensors, clamped with ``clamp(min=...)``;
      ``reduce_mean`` still averages them over processes.

    Where a point is not positive its box prediction and box target are
    replaced by the same unit box with ``torch.where`` before decoding, so
    its box and centerness losses are finite and its gradient is exactly 0
    (a NaN times a zero weight would still be NaN). The losses equal
    mmdet's up to float summation order, and so do the gradients.

    ``loss_bbox`` must accept ``reduction_override='none'`` and return one
    loss per box (mmdet's IoU-family losses do); it is reduced here, because
    mmdet's IoU losses test ``torch.any(weight > 0)`` on the host.

    Target assignment is a component (``TASK_UTILS``), named in the
    model's ``train_cfg``, as mmdet's anchor-based heads name theirs::

        model = dict(train_cfg=dict(assigner=dict(
            type='FCOSPointAssigner', fallback_points=1)))

    Without one the head builds :class:`FCOSPointAssigner` from its own
    ``center_sampling`` and ``center_sample_radius``: mmdet's FCOS targets
    exactly. The full-coverage options of the assigner (the unclipped
    radius rule and the nearest-point fallback, docs/method.md, section
    "Coverage") make points outside their box positive; they have negative
    distances, which FCOS's ``exp`` cannot predict, so the head offers:

    - ``box_encoding='offset_size'``: predict the box centre's offset from
      the point (times the stride) and the log half-size, and turn them
      into ``(l, t, r, b)`` = ``(w/2 - dx, h/2 - dy, w/2 + dx, h/2 + dy)``:
      any sign, and always a valid box;
    - ``centerness_type='gaussian'``: FCOS's centerness ``sqrt(min/max)``
      is not defined outside the box;
      ``exp(-((dx/sx)^2 + (dy/sy)^2)/2)`` is, with ``dx, dy`` the point's
      offset from the box centre and ``sx, sy`` half the box's size, at
      least half a stride. A GIoU-type box loss keeps a gradient where the
      predicted and target boxes do not overlap (IoU loss has none).

    Args:
        box_encoding (str): ``'ltrb'`` (FCOS: ``exp``, or ReLU with
            ``norm_on_bbox``) or ``'offset_size'``.
        centerness_type (str): ``'fcos'`` or ``'gaussian'``.
        *args, **kwargs: Those of mmdet's ``FCOSHead``; ``train_cfg`` may
            name the ``assigner``.

    Raises:
        ValueError: For an unknown encoding or centerness; for an assigner
            that makes points outside their box positive with the
            ``'ltrb'`` encoding or the FCOS centerness; for centre sampling
            given both to the head and to its named assigner.
    """

    def __init__(self,
                 *args,
                 box_encoding: str = 'ltrb',
                 centerness_type: str = 'fcos',
                 **kwargs) -> None:
        if box_encoding not in ('ltrb', 'offset_size'):
            raise ValueError(f'box_encoding={box_encoding!r}: expected '
                             "'ltrb' or 'offset_size'")
        if centerness_type not in ('fcos', 'gaussian'):
            raise ValueError(f'centerness_type={centerness_type!r}: '
                             "expected 'fcos' or 'gaussian'")
        super().__init__(*args, **kwargs)
        self.box_encoding = box_encoding
        self.centerness_type = centerness_type
        self.assigner = TASK_UTILS.build(self._assigner_cfg())
        if self.assigner.assigns_outside_boxes and (
                box_encoding != 'offset_size'
                or centerness_type != 'gaussian'):
            raise ValueError(
                f'{type(self.assigner).__name__} makes points outside their '
                "box positive: they need box_encoding='offset_size' "
                "(negative distances) and centerness_type='gaussian' (FCOS "
                f'centerness is undefined there); got {box_encoding!r} and '
                f'{centerness_type!r}')

    def _assigner_cfg(self) -> dict:
        """The ``train_cfg``'s assigner, else FCOS's from the head's centre
        sampling arguments."""
        own = dict(
            center_sampling=self.center_sampling,
            center_sample_radius=self.center_sample_radius)
        named = (self.train_cfg or {}).get('assigner')
        if named is None:
            return dict(type='FCOSPointAssigner', **own)
        if own != dict(center_sampling=False, center_sample_radius=1.5):
            raise ValueError(
                f'center sampling given to the head ({own}) and an assigner '
                f'named in train_cfg ({named}): give it to the assigner')
        return named

    def forward_single(self, x: Tensor, scale: Scale,
                       stride: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Scores (B, num_classes, H, W), distances (B, 4, H, W) and
        centerness logits (B, 1, H, W) of one level (B, C, H, W)."""
        cls_score, bbox_pred, cls_feat, reg_feat = super(
            FCOSHead, self).forward_single(x)
        centerness = self.conv_centerness(
            reg_feat if self.centerness_on_reg else cls_feat)
        return cls_score, self.distances(bbox_pred, scale, stride), centerness

    def distances(self, reg: Tensor, scale: Scale, stride: int) -> Tensor:
        """Box distances (l, t, r, b) from the regression conv's output.

        Args:
            reg (Tensor): (B, 4, H, W) output of ``conv_reg``.
            scale (Scale): The level's learnable scale.
            stride (int): The level's stride.

        Returns:
            Tensor: (B, 4, H, W) float distances, in pixels (in strides
            while training with ``norm_on_bbox``).
        """
        reg = scale(reg).float()
        if self.box_encoding == 'offset_size':
            offset, half_size = reg[:, :2], reg[:, 2:].exp()
            if not self.norm_on_bbox:
                offset = offset * stride
            distances = torch.cat([half_size - offset, half_size + offset],
                                  dim=1)
            if self.norm_on_bbox and not self.training:
                distances = distances * stride
            return distances
        if self.norm_on_bbox:
            reg = reg.clamp(min=0)
            if not self.training:
                reg = reg * stride
            return reg
        return reg.exp()

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        centernesses: List[Tensor],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """Classification, box and centerness losses of a batch.

        Args:
            cls_scores (list[Tensor]): Per level (B, num_classes, H_l, W_l).
            bbox_preds (list[Tensor]): Per level (B, 4, H_l, W_l) distances
                (l, t, r, b), in pixels or, with ``norm_on_bbox``, in
                strides.
            centernesses (list[Tensor]): Per level (B, 1, H_l, W_l) logits.
            batch_gt_instances (list[InstanceData]): Per image ``bboxes``
                (G, 4) and ``labels`` (G,); G may be 0.
            batch_img_metas (list[dict]): Unused, as in mmdet.
            batch_gt_instances_ignore (list[InstanceData], optional): Unused,
                as in mmdet.

        Returns:
            dict[str, Tensor]: Scalars ``loss_cls``, ``loss_bbox`` and
            ``loss_centerness`` (plus the accuracy of a ``loss_cls`` with
            ``custom_accuracy``).
        """
        assert len(cls_scores) == len(bbox_preds) == len(centernesses)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        all_level_points = self.prior_generator.grid_priors(
            featmap_sizes,
            dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(all_level_points,
                                                batch_gt_instances)

        num_imgs = cls_scores[0].size(0)
        # (N, ...) over all levels and images, level-major as the targets
        flatten_cls_scores = torch.cat([
            cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
            for cls_score in cls_scores
        ])
        flatten_bbox_preds = torch.cat([
            bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
            for bbox_pred in bbox_preds
        ])
        flatten_centerness = torch.cat([
            centerness.permute(0, 2, 3, 1).reshape(-1)
            for centerness in centernesses
        ])
        flatten_labels = torch.cat(labels)
        flatten_bbox_targets = torch.cat(bbox_targets)
        flatten_points = torch.cat(
            [points.repeat(num_imgs, 1) for points in all_level_points])

        losses = dict()
        # FG cat_id: [0, num_classes - 1], BG cat_id: num_classes
        pos_mask = (flatten_labels >= 0) & (flatten_labels < self.num_classes)
        pos_weight = pos_mask.to(flatten_bbox_preds.dtype)
        num_pos = reduce_mean(pos_weight.sum()).clamp(min=1.0)
        losses['loss_cls'] = self.loss_cls(
            flatten_cls_scores, flatten_labels, avg_factor=num_pos)
        if getattr(self.loss_cls, 'custom_accuracy', False):
            losses.update(
                self.loss_cls.get_accuracy(flatten_cls_scores,
                                           flatten_labels))

        # a unit box where not positive: finite losses, zero gradients
        unit_box = flatten_bbox_targets.new_ones(())
        safe_preds = torch.where(pos_mask[:, None], flatten_bbox_preds,
                                 unit_box)
        safe_targets = torch.where(pos_mask[:, None], flatten_bbox_targets,
                                   unit_box)
        if self.centerness_type == 'gaussian':
            # half a stride, in the units of the targets
            min_half = torch.cat([
                points.new_full((num_imgs * points.size(0), ),
                                0.5 if self.norm_on_bbox else stride / 2)
                for points, stride in zip(all_level_points, self.strides)
            ])
            centerness_targets = self.gaussian_centerness_target(
                safe_targets, min_half)
        else:
            centerness_targets = self.centerness_target(safe_targets)
        centerness_targets = centerness_targets * pos_weight
        centerness_denorm = reduce_mean(
            centerness_targets.sum().detach()).clamp(min=1e-6)

        decoded_preds = self.bbox_coder.decode(flatten_points, safe_preds)
        decoded_targets = self.bbox_coder.decode(flatten_points, safe_targets)
        box_losses = self.loss_bbox(
            decoded_preds, decoded_targets, reduction_override='none')
        # mmdet's weight_reduce_loss: sum(w * loss) / (avg_factor + eps)
        eps = torch.finfo(torch.float32).eps
        losses['loss_bbox'] = (box_losses * centerness_targets).sum() / (
            centerness_denorm + eps)
        losses['loss_centerness'] = self.loss_centerness(
            flatten_centerness,
            centerness_targets,
            weight=pos_weight,
            avg_factor=num_pos)
        return losses

    def get_targets(
            self, points: List[Tensor], batch_gt_instances: InstanceList
    ) -> Tuple[List[Tensor], List[Tensor]]:
        """Labels and box targets of the points of all images.

        Args:
            points (list[Tensor]): Per level (P_l, 2) point coordinates.
            batch_gt_instances (list[InstanceData]): Per image ``bboxes``
                (G, 4) and ``labels`` (G,).

        Returns:
            tuple[list[Tensor], list[Tensor]]: Per level, the labels
            (B * P_l,) (``num_classes`` for background) and the box targets
            (B * P_l, 4) (l, t, r, b), divided by the level's stride with
            ``norm_on_bbox``; image-major within a level.
        """
        assert len(points) == len(self.regress_ranges)
        num_points = [center.size(0) for center in points]
        point_instances = fpn_points(points, self.strides,
                                     self.regress_ranges)

        labels_list, bbox_targets_list = [], []
        for gt_instances in batch_gt_instances:
            labels, bbox_targets = self._get_targets_single(
                gt_instances, point_instances)
            labels_list.append(labels.split(num_points, 0))
            bbox_targets_list.append(bbox_targets.split(num_points, 0))

        concat_lvl_labels, concat_lvl_bbox_targets = [], []
        for level, stride in enumerate(self.strides):
            concat_lvl_labels.append(
                torch.cat([labels[level] for labels in labels_list]))
            bbox_targets = torch.cat(
                [bbox_targets[level] for bbox_targets in bbox_targets_list])
            if self.norm_on_bbox:
                bbox_targets = bbox_targets / stride
            concat_lvl_bbox_targets.append(bbox_targets)
        return concat_lvl_labels, concat_lvl_bbox_targets

    def _get_targets_single(
            self, gt_instances: InstanceData,
            point_instances: InstanceData) -> Tuple[Tensor, Tensor]:
        """Labels and box targets of the points of one image, by the
        head's assigner.

        Args:
            gt_instances (InstanceData): ``bboxes`` (G, 4) x1, y1, x2, y2 and
                ``labels`` (G,).
            point_instances (InstanceData): The points of all levels, as
                :func:`~bafenet.models.task_modules.fpn_points` gives them
                (``priors`` (P, 2), ``regress_ranges``, ``strides``).

        Returns:
            tuple[Tensor, Tensor]: Labels (P,) (``num_classes`` for
            background) and box targets (P, 4) (l, t, r, b) in pixels, to
            the assigned box (to box 0 for background, as mmdet's).
        """
        points = point_instances.priors
        gt_bboxes = gt_instances.bboxes
        if gt_bboxes.size(0) == 0:
            return (gt_instances.labels.new_full((points.size(0), ),
                                                 self.num_classes),
                    gt_bboxes.new_zeros((points.size(0), 4)))
        assigned = self.assigner.assign(point_instances, gt_instances)
        labels = torch.where(assigned.gt_inds > 0, assigned.labels,
                             self.num_classes)
        box = gt_bboxes.gather(
            0, (assigned.gt_inds - 1).clamp(min=0)[:, None].expand(-1, 4))
        bbox_targets = torch.cat([points - box[:, :2], box[:, 2:] - points],
                                 dim=1)
        return labels, bbox_targets

    @staticmethod
    def gaussian_centerness_target(pos_bbox_targets: Tensor,
                                   min_half: Tensor) -> Tensor:
        """Gaussian centerness ``exp(-((dx/sx)^2 + (dy/sy)^2) / 2)``,
        defined inside and outside the box.

        Args:
            pos_bbox_targets (Tensor): (N, 4) (l, t, r, b) distances of any
                sign, with l + r > 0 and t + b > 0.
            min_half (Tensor): (N, ) the least sigma (half a stride), in the
                units of the distances.

        Returns:
            Tensor: (N, ) targets in (0, 1]; 1 at the box centre.
        """
        left_top, right_bottom = pos_bbox_targets.split(2, dim=1)
        offset = (right_bottom - left_top) / 2
        sigma = ((left_top + right_bottom) / 2).maximum(min_half[:, None])
        return torch.exp(-(offset / sigma).square().sum(-1) / 2)

    def centerness_target(self, pos_bbox_targets: Tensor) -> Tensor:
        """Centerness targets sqrt(min(l, r) / max(l, r) * min(t, b) /
        max(t, b)).

        mmdet's version indexes the columns with a Python list, which is a
        host-to-device copy on a GPU; slices are views.

        Args:
            pos_bbox_targets (Tensor): (N, 4) positive (l, t, r, b)
                distances; N may be 0.

        Returns:
            Tensor: (N,) centerness targets.
        """
        left_right = pos_bbox_targets[:, 0::2]
        top_bottom = pos_bbox_targets[:, 1::2]
        return torch.sqrt(
            (left_right.amin(-1) / left_right.amax(-1)) *
            (top_bottom.amin(-1) / top_bottom.amax(-1)))

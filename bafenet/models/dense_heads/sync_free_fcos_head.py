"""FCOS head whose target assignment and losses never synchronise the
device."""
from typing import Dict, List, Tuple

import torch
from mmcv.cnn import Scale
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.dense_heads.fcos_head import INF
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from bafenet.registry import MODELS


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

    Full coverage (docs/method.md, section "Coverage"). FCOS makes a point
    positive only inside a box, so a box smaller than the stride that falls
    between points gets no positive and is never learned. Three options,
    all off by default (then the head is mmdet's), change that:

    - ``fallback_points=k``: after the FCOS rule, every box still without a
      positive takes the k points nearest to its centre (Euclidean) that
      are not positive for another box, at the level whose regress range
      holds half its larger side. Boxes that want the same point go to the
      nearest; the others try again with the remaining points, for
      ``fallback_rounds`` rounds (fixed, so no host sync decides when to
      stop). Within one level this is the order of RFLA's Gaussian
      receptive-field distance and of NWD between the point's receptive
      field and the box (both are the centre distance plus a per-box
      constant there).
    - ``center_sampling_clip=False``: with ``center_sampling``, the centre
      region (``center_sample_radius`` strides around the box centre) is
      not clipped to the box, so points near a tiny box but outside it are
      positive (the radius rule).
    - Points outside their box have negative distances, which FCOS's
      ``exp`` cannot predict; ``box_encoding='offset_size'`` predicts the
      box centre's offset from the point (times the stride) and the log
      half-size, and turns them into ``(l, t, r, b)`` = ``(w/2 - dx, h/2 -
      dy, w/2 + dx, h/2 + dy)``: any sign, and always a valid box. FCOS's
      centerness ``sqrt(min/max)`` is not defined there either;
      ``centerness_type='gaussian'`` uses ``exp(-((dx/sx)^2 + (dy/sy)^2)/2)``
      with ``dx, dy`` the point's offset from the box centre and ``sx, sy``
      half the box's size, at least half a stride. A GIoU-type box loss
      keeps a gradient where the predicted and target boxes do not overlap
      (IoU loss has none).

    Args:
        fallback_points (int): k above; 0 turns the fallback off.
        fallback_rounds (int): Rounds of the fallback.
        center_sampling_clip (bool): Clip the centre region to the box, as
            FCOS does.
        box_encoding (str): ``'ltrb'`` (FCOS: ``exp``, or ReLU with
            ``norm_on_bbox``) or ``'offset_size'``.
        centerness_type (str): ``'fcos'`` or ``'gaussian'``.
        *args, **kwargs: Those of mmdet's ``FCOSHead``.

    Raises:
        ValueError: For an unknown encoding or centerness, or for positives
            outside their box (fallback, unclipped centre region) with the
            ``'ltrb'`` encoding or the FCOS centerness.
    """

    def __init__(self,
                 *args,
                 fallback_points: int = 0,
                 fallback_rounds: int = 4,
                 center_sampling_clip: bool = True,
                 box_encoding: str = 'ltrb',
                 centerness_type: str = 'fcos',
                 **kwargs) -> None:
        if box_encoding not in ('ltrb', 'offset_size'):
            raise ValueError(f'box_encoding={box_encoding!r}: expected '
                             "'ltrb' or 'offset_size'")
        if centerness_type not in ('fcos', 'gaussian'):
            raise ValueError(f'centerness_type={centerness_type!r}: '
                             "expected 'fcos' or 'gaussian'")
        outside = fallback_points > 0 or (kwargs.get('center_sampling')
                                          and not center_sampling_clip)
        if outside and (box_encoding != 'offset_size'
                        or centerness_type != 'gaussian'):
            raise ValueError(
                'fallback_points > 0 or an unclipped centre region make '
                'points outside their box positive: they need '
                "box_encoding='offset_size' (negative distances) and "
                "centerness_type='gaussian' (FCOS centerness is undefined "
                f'there); got {box_encoding!r} and {centerness_type!r}')
        if fallback_rounds < 1:
            raise ValueError(f'fallback_rounds={fallback_rounds}: must be '
                             '>= 1')
        super().__init__(*args, **kwargs)
        self.fallback_points = fallback_points
        self.fallback_rounds = fallback_rounds
        self.center_sampling_clip = center_sampling_clip
        self.box_encoding = box_encoding
        self.centerness_type = centerness_type

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
        # (P, 2) lower and upper regress range of every point; new_full
        # instead of new_tensor: no host-to-device copy
        concat_regress_ranges = torch.cat([
            torch.stack([
                level_points.new_full((n, ), float(low)),
                level_points.new_full((n, ), float(high))
            ], -1) for level_points, n, (low, high) in zip(
                points, num_points, self.regress_ranges)
        ])
        concat_points = torch.cat(points, dim=0)

        labels_list, bbox_targets_list = [], []
        for gt_instances in batch_gt_instances:
            labels, bbox_targets = self._get_targets_single(
                gt_instances,
                points=concat_points,
                regress_ranges=concat_regress_ranges,
                num_points_per_lvl=num_points)
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
            self, gt_instances: InstanceData, points: Tensor,
            regress_ranges: Tensor,
            num_points_per_lvl: List[int]) -> Tuple[Tensor, Tensor]:
        """Labels and box targets of the points of one image.

        A point is positive for a ground-truth box when it lies inside the
        box (or its centre region, with ``center_sampling``) and its largest
        distance to the box sides is in the point's regress range; among
        such boxes it takes the one of least area. With
        ``fallback_points``, boxes left without a positive then take their
        nearest free points (see the class docstring).

        Args:
            gt_instances (InstanceData): ``bboxes`` (G, 4) x1, y1, x2, y2 and
                ``labels`` (G,).
            points (Tensor): (P, 2) point coordinates of all levels.
            regress_ranges (Tensor): (P, 2) regress range of every point.
            num_points_per_lvl (list[int]): P_l of each level.

        Returns:
            tuple[Tensor, Tensor]: Labels (P,) and box targets (P, 4)
            (l, t, r, b) in pixels.
        """
        num_points = points.size(0)
        gt_bboxes = gt_instances.bboxes
        gt_labels = gt_instances.labels
        num_gts = gt_bboxes.size(0)
        if num_gts == 0:
            return (gt_labels.new_full((num_points, ), self.num_classes),
                    gt_bboxes.new_zeros((num_points, 4)))

        areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (
            gt_bboxes[:, 3] - gt_bboxes[:, 1])
        xs = points[:, 0, None]
        ys = points[:, 1, None]
        # (P, G, 4) distances to the sides of every box
        bbox_targets = torch.stack(
            (xs - gt_bboxes[:, 0], ys - gt_bboxes[:, 1],
             gt_bboxes[:, 2] - xs, gt_bboxes[:, 3] - ys), -1)

        if self.center_sampling:
            # (P, 1) radius of the centre region in pixels at each point
            radius = torch.cat([
                points.new_full((n, 1), stride * self.center_sample_radius)
                for n, stride in zip(num_points_per_lvl, self.strides)
            ])
            center_xs = (gt_bboxes[:, 0] + gt_bboxes[:, 2]) / 2
            center_ys = (gt_bboxes[:, 1] + gt_bboxes[:, 3]) / 2
            # (P, G) centre region clipped to the box
            x_mins = torch.maximum(center_xs - radius, gt_bboxes[:, 0])
            y_mins = torch.maximum(center_ys - radius, gt_bboxes[:, 1])
            x_maxs = torch.minimum(center_xs + radius, gt_bboxes[:, 2])
            y_maxs = torch.minimum(center_ys + radius, gt_bboxes[:, 3])
            if not self.center_sampling_clip:
                # (P, G) the centre region alone: the radius rule
                x_mins, y_mins = center_xs - radius, center_ys - radius
                x_maxs, y_maxs = center_xs + radius, center_ys + radius
            center_bbox = torch.stack(
                (xs - x_mins, ys - y_mins, x_maxs - xs, y_maxs - ys), -1)
            inside_gt_bbox_mask = center_bbox.min(-1)[0] > 0
        else:
            inside_gt_bbox_mask = bbox_targets.min(-1)[0] > 0

        if self.center_sampling and not self.center_sampling_clip:
            # outside the box the largest distance grows with the offset:
            # half the box's larger side decides the level
            max_regress_distance = (gt_bboxes[:, 2:] -
                                    gt_bboxes[:, :2]).amax(-1)[None] / 2
        else:
            max_regress_distance = bbox_targets.max(-1)[0]
        inside_regress_range = (
            (max_regress_distance >= regress_ranges[:, 0, None])
            & (max_regress_distance <= regress_ranges[:, 1, None]))

        # (P, G) areas, INF where the box cannot take the point
        areas = areas[None].expand(num_points, num_gts)
        min_area, min_area_inds = areas.masked_fill(
            ~(inside_gt_bbox_mask & inside_regress_range), INF).min(dim=1)
        if self.fallback_points:
            gt_index = torch.arange(num_gts, device=gt_bboxes.device)
            assigned = (min_area_inds[:, None] == gt_index) & (
                min_area[:, None] < INF)
            assigned = self._fallback(assigned, points, gt_bboxes,
                                      regress_ranges)
            min_area, min_area_inds = areas.masked_fill(~assigned,
                                                        INF).min(dim=1)

        labels = torch.where(min_area == INF, self.num_classes,
                             gt_labels.gather(0, min_area_inds))
        bbox_targets = bbox_targets.gather(
            1, min_area_inds[:, None, None].expand(-1, 1, 4)).squeeze(1)
        return labels, bbox_targets

    def _fallback(self, positive: Tensor, points: Tensor, gt_bboxes: Tensor,
                  regress_ranges: Tensor) -> Tensor:
        """Give the boxes without a positive point their nearest free ones.

        Args:
            positive (Tensor): (P, G) bool, the FCOS rule's assignment (at
                most one box per point).
            points (Tensor): (P, 2) point coordinates of all levels.
            gt_bboxes (Tensor): (G, 4) boxes x1, y1, x2, y2.
            regress_ranges (Tensor): (P, 2) regress range of every point.

        Returns:
            Tensor: (P, G) bool, ``positive`` plus the points each uncovered
            box won; still at most one box per point.
        """
        num_points, num_gts = positive.shape
        centres = (gt_bboxes[:, :2] + gt_bboxes[:, 2:]) / 2
        half_side = (gt_bboxes[:, 2:] - gt_bboxes[:, :2]).amax(-1) / 2
        at_level = ((half_side > regress_ranges[:, 0, None])
                    & (half_side <= regress_ranges[:, 1, None]))
        # (P, G) squared distance to the box centre, INF off the box's level
        distance = (points[:, None] - centres[None]).square().sum(-1)
        distance = distance.masked_fill(~at_level, INF)
        k = min(self.fallback_points, num_points)
        gt_index = torch.arange(num_gts, device=positive.device)
        for _ in range(self.fallback_rounds):
            covered = positive.any(0)
            taken = positive.any(1)
            free = distance.masked_fill(taken[:, None] | covered[None], INF)
            # (k, G) each uncovered box proposes its k nearest free points
            near, near_index = free.topk(k, dim=0, largest=False)
            proposed = torch.zeros_like(positive).scatter_(
                0, near_index, near < INF)
            # a point proposed by several boxes goes to the nearest
            winner = distance.masked_fill(~proposed, INF).argmin(1)
            positive = positive | (proposed
                                   & (winner[:, None] == gt_index[None]))
        return positive

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

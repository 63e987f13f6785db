"""FCOS's point assignment, with the options that give every box a
positive (docs/method.md, section "Coverage")."""
from typing import List, Optional, Sequence

import torch
from mmdet.models.dense_heads.fcos_head import INF
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmengine.structures import InstanceData
from torch import Tensor

from bafenet.registry import TASK_UTILS


def fpn_points(points: List[Tensor], strides: Sequence[int],
               regress_ranges: Sequence[Sequence[float]]) -> InstanceData:
    """The points of all FPN levels as :class:`FCOSPointAssigner` takes
    them.

    Args:
        points (list[Tensor]): Per level (P_l, 2) point coordinates.
        strides (Sequence[int]): Per level, its stride.
        regress_ranges (Sequence[Sequence[float]]): Per level, the range
            (low, high) of the largest box distance it predicts.

    Returns:
        InstanceData: ``priors`` (P, 2), ``regress_ranges`` (P, 2) and
        ``strides`` (P, ), the levels concatenated. The constants are made
        with ``new_full`` (no host-to-device copy).
    """
    ranges = [
        torch.stack([p.new_full((len(p), ), float(low)),
                     p.new_full((len(p), ), float(high))], -1)
        for p, (low, high) in zip(points, regress_ranges)
    ]
    return InstanceData(
        priors=torch.cat(points),
        regress_ranges=torch.cat(ranges),
        strides=torch.cat([
            p.new_full((len(p), ), float(stride))
            for p, stride in zip(points, strides)
        ]))


@TASK_UTILS.register_module()
class FCOSPointAssigner(BaseAssigner):
    """Assign FPN points to ground-truth boxes by FCOS's rule, on
    fixed-shape tensors (no host synchronisation).

    A point is positive for a box when it lies inside the box (or, with
    ``center_sampling``, inside its centre region of
    ``center_sample_radius`` strides, clipped to the box) and its largest
    distance to the box's sides lies in the point's regress range; among
    such boxes it takes the one of least area. With the defaults this is
    mmdet's ``FCOSHead`` assignment exactly.

    Full coverage. FCOS makes a point positive only inside a box, so a box
    smaller than the stride that falls between points gets no positive and
    is never learned. Two options, off by default, change that:

    - ``center_sampling_clip=False``: the centre region is not clipped to
      the box, so points near a tiny box but outside it are positive (the
      radius rule); half the box's larger side then decides its level.
    - ``fallback_points=k``: after the rule above, every box still without
      a positive takes the k points nearest to its centre (Euclidean) that
      are not positive for another box, at the level whose regress range
      holds half its larger side. Boxes that want the same point go to the
      nearest; the others try again with the remaining points, for
      ``fallback_rounds`` rounds (fixed, so no host sync decides when to
      stop). Within one level this is the order of the Wasserstein
      distance (NWD) between a point's Gaussian receptive field and the
      box, as in RFLA's top-k: the squared centre distance plus a constant
      per box there.

    Points outside their box (either option) have negative distances, so
    a head using them needs a box encoding and a centerness defined there
    (:attr:`assigns_outside_boxes`).

    Args:
        center_sampling (bool): FCOS's centre sampling. Defaults to False.
        center_sample_radius (float): Radius of the centre region, in
            strides. Defaults to 1.5.
        center_sampling_clip (bool): Clip the centre region to the box, as
            FCOS does. Defaults to True.
        fallback_points (int): k above; 0 turns the fallback off. Defaults
            to 0.
        fallback_rounds (int): Rounds of the fallback. Defaults to 4.

    Raises:
        ValueError: If ``fallback_rounds`` is below 1.
    """

    def __init__(self,
                 center_sampling: bool = False,
                 center_sample_radius: float = 1.5,
                 center_sampling_clip: bool = True,
                 fallback_points: int = 0,
                 fallback_rounds: int = 4) -> None:
        if fallback_rounds < 1:
            raise ValueError(f'fallback_rounds={fallback_rounds}: must be '
                             '>= 1')
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.center_sampling_clip = center_sampling_clip
        self.fallback_points = fallback_points
        self.fallback_rounds = fallback_rounds

    @property
    def assigns_outside_boxes(self) -> bool:
        """Whether points outside their box can be positive."""
        return self.fallback_points > 0 or (self.center_sampling
                                            and not self.center_sampling_clip)

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """Assign the points of one image.

        Args:
            pred_instances (InstanceData): ``priors`` (P, 2) point
                coordinates of all levels, ``regress_ranges`` (P, 2) the
                regress range of each point and ``strides`` (P, ) the stride
                of its level.
            gt_instances (InstanceData): ``bboxes`` (G, 4) x1, y1, x2, y2
                and ``labels`` (G, ); G may be 0.
            gt_instances_ignore (InstanceData, optional): Unused, as in
                FCOS.

        Returns:
            AssignResult: ``gt_inds`` (P, ): the 1-based index of the box
            each point is positive for, 0 for background; ``labels`` (P, ):
            its label, -1 for background; no overlaps (None).
        """
        points = pred_instances.priors
        regress_ranges = pred_instances.regress_ranges
        gt_bboxes = gt_instances.bboxes
        gt_labels = gt_instances.labels
        num_points, num_gts = points.size(0), gt_bboxes.size(0)
        if num_gts == 0:
            return AssignResult(
                0, gt_labels.new_zeros((num_points, )), None,
                gt_labels.new_full((num_points, ), -1))

        positive = self.fcos_rule(points, regress_ranges,
                                  pred_instances.strides, gt_bboxes)
        if self.fallback_points:
            positive = self.fallback(positive, points, gt_bboxes,
                                     regress_ranges)
        areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (
            gt_bboxes[:, 3] - gt_bboxes[:, 1])
        # the least-area box among those that take the point
        min_area, min_area_inds = areas[None].expand(
            num_points, num_gts).masked_fill(~positive, INF).min(dim=1)
        background = min_area == INF
        gt_inds = torch.where(background, 0, min_area_inds + 1)
        labels = torch.where(background, -1, gt_labels.gather(
            0, min_area_inds))
        return AssignResult(num_gts, gt_inds, None, labels)

    def fcos_rule(self, points: Tensor, regress_ranges: Tensor,
                  strides: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Which boxes may take which points, by FCOS's rule.

        Args:
            points (Tensor): (P, 2) point coordinates.
            regress_ranges (Tensor): (P, 2) regress range of every point.
            strides (Tensor): (P, ) stride of every point's level.
            gt_bboxes (Tensor): (G, 4) boxes x1, y1, x2, y2.

        Returns:
            Tensor: (P, G) bool, True where the point lies in the box's
            region and its distances fit the point's regress range.
        """
        xs, ys = points[:, 0, None], points[:, 1, None]
        # (P, G, 4) distances to the sides of every box
        distances = torch.stack(
            (xs - gt_bboxes[:, 0], ys - gt_bboxes[:, 1],
             gt_bboxes[:, 2] - xs, gt_bboxes[:, 3] - ys), -1)
        if self.center_sampling:
            # (P, 1) radius of the centre region in pixels at each point
            radius = strides[:, None] * self.center_sample_radius
            center_xs = (gt_bboxes[:, 0] + gt_bboxes[:, 2]) / 2
            center_ys = (gt_bboxes[:, 1] + gt_bboxes[:, 3]) / 2
            # (P, G) centre region, clipped to the box as in FCOS
            x_mins, y_mins = center_xs - radius, center_ys - radius
            x_maxs, y_maxs = center_xs + radius, center_ys + radius
            if self.center_sampling_clip:
                x_mins = torch.maximum(x_mins, gt_bboxes[:, 0])
                y_mins = torch.maximum(y_mins, gt_bboxes[:, 1])
                x_maxs = torch.minimum(x_maxs, gt_bboxes[:, 2])
                y_maxs = torch.minimum(y_maxs, gt_bboxes[:, 3])
            center_bbox = torch.stack(
                (xs - x_mins, ys - y_mins, x_maxs - xs, y_maxs - ys), -1)
            inside = center_bbox.min(-1)[0] > 0
        else:
            inside = distances.min(-1)[0] > 0

        if self.center_sampling and not self.center_sampling_clip:
            # outside the box the largest distance grows with the offset:
            # half the box's larger side decides the level
            max_regress_distance = (gt_bboxes[:, 2:] -
                                    gt_bboxes[:, :2]).amax(-1)[None] / 2
        else:
            max_regress_distance = distances.max(-1)[0]
        in_range = ((max_regress_distance >= regress_ranges[:, 0, None])
                    & (max_regress_distance <= regress_ranges[:, 1, None]))
        positive = inside & in_range
        # at most one box per point: the least-area one, as FCOS keeps it
        areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (
            gt_bboxes[:, 3] - gt_bboxes[:, 1])
        min_area, min_area_inds = areas[None].expand_as(positive).masked_fill(
            ~positive, INF).min(dim=1)
        gt_index = torch.arange(gt_bboxes.size(0), device=gt_bboxes.device)
        return (min_area_inds[:, None] == gt_index) & (min_area[:, None] <
                                                        INF)

    def fallback(self, positive: Tensor, points: Tensor, gt_bboxes: Tensor,
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

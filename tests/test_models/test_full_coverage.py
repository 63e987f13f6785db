"""Full coverage: the options of FCOSPointAssigner (the fallback to the
nearest free points, the unclipped centre region) with the offset/size box
encoding and the Gaussian centerness of SyncFreeFCOSHead, on hand-built
boxes; and a training step with them that still never syncs the device."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.model.base_model import data_preprocessor
from mmengine.model.utils import stack_batch
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData
from torch.profiler import record_function

from bafenet.registry import MODELS
from tests.conftest import REPO_ROOT
from tests.test_models.test_sync_free_training_step import (sync_ops,
                                                            synthetic_batch)

SIZE = 64
HEAD = dict(
    type='SyncFreeFCOSHead',
    num_classes=1,
    in_channels=8,
    feat_channels=8,
    stacked_convs=1,
    strides=[8, 16, 32],
    regress_ranges=((-1, 64), (64, 128), (128, 256)),
    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
    loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
OUTSIDE = dict(box_encoding='offset_size', centerness_type='gaussian')
FALLBACK = dict(fallback_points=1, **OUTSIDE)
RADIUS = dict(
    center_sampling=True,
    center_sample_radius=1.5,
    center_sampling_clip=False,
    **OUTSIDE)


#: The options that belong to the head's assigner.
ASSIGNER_KEYS = ('center_sampling', 'center_sample_radius',
                 'center_sampling_clip', 'fallback_points', 'fallback_rounds')


def build_head(**options):
    """The head with ``options``, the assigner's given to its assigner."""
    assigner = {
        key: options.pop(key)
        for key in ASSIGNER_KEYS if key in options
    }
    return MODELS.build(
        dict(
            HEAD,
            train_cfg=dict(
                assigner=dict(type='FCOSPointAssigner', **assigner)),
            **options))


def assign(head, boxes):
    """Labels (P,) and (l, t, r, b) targets (P, 4) of all levels of a
    SIZE x SIZE image, and the points (P, 2)."""
    points = head.prior_generator.grid_priors(
        [(SIZE // s, SIZE // s) for s in head.strides], device='cpu')
    gt = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        labels=torch.zeros(len(boxes), dtype=torch.long))
    labels, targets = head.get_targets(points, [gt])
    return torch.cat(labels), torch.cat(targets), torch.cat(points)


def positives_per_box(head, boxes):
    """Positive points (as (x, y) tuples) of each box, recovered by decoding
    the targets."""
    labels, targets, points = assign(head, boxes)
    boxes = torch.tensor(boxes, dtype=torch.float32)
    found = [[] for _ in boxes]
    for point, label, target in zip(points, labels, targets):
        if label == head.num_classes:
            continue
        decoded = torch.cat([point - target[:2], point + target[2:]])
        index = int((decoded - boxes).abs().amax(1).argmin())
        torch.testing.assert_close(decoded, boxes[index])
        found[index].append(tuple(point.tolist()))
    return found


def test_box_between_points_takes_its_nearest_point():
    """P3 points are at 4, 12, 20, ...: [6, 7, 11, 11] holds none; its
    centre (8.5, 9) is nearest to (12, 12), outside the box, so two of its
    distances are negative."""
    box = [6., 7., 11., 11.]
    assert positives_per_box(build_head(), [box]) == [[]]
    assert positives_per_box(build_head(**FALLBACK), [box]) == [[(12., 12.)]]
    labels, targets, points = assign(build_head(**FALLBACK), [box])
    index = int((labels == 0).nonzero())
    assert targets[index].tolist() == [6., 5., -1., -1.]


def test_two_boxes_sharing_a_nearest_point():
    """Both centres are nearest to (12, 12); the nearer box (B) wins it and
    A takes its next nearest free point in the second round."""
    box_a, box_b = [8.5, 9., 10.5, 11.], [13., 13., 15., 14.]
    one_round = build_head(fallback_rounds=1, **FALLBACK)
    assert positives_per_box(one_round, [box_a, box_b]) == [[], [(12., 12.)]]
    assert positives_per_box(build_head(**FALLBACK), [box_a, box_b]) == [
        [(4., 12.)], [(12., 12.)]
    ]


def test_box_losing_its_only_point_to_a_smaller_box():
    """FCOS gives (4, 4), the one point inside both boxes, to the smaller
    box; the fallback then gives the larger one a free point."""
    large, small = [1., 1., 7., 7.], [3., 3., 6., 6.]
    assert positives_per_box(build_head(), [large, small]) == [[], [(4., 4.)]]
    found = positives_per_box(build_head(**FALLBACK), [large, small])
    assert found[1] == [(4., 4.)]
    assert len(found[0]) == 1 and found[0][0] != (4., 4.)


@pytest.mark.parametrize('box, point', [([0., 0., 2., 2.], (4., 4.)),
                                        ([62., 61., 64., 64.], (60., 60.))])
def test_box_at_the_image_border(box, point):
    assert positives_per_box(build_head(**FALLBACK), [box]) == [[point]]


def test_fallback_points_per_box_and_p2():
    """k = 2 gives two points per uncovered box; a box that FCOS covers
    keeps its own points only. With a stride-4 level the tiny box is
    assigned there."""
    tiny, covered = [6., 7., 11., 11.], [18., 18., 23., 23.]
    found = positives_per_box(
        build_head(fallback_points=2, **OUTSIDE), [tiny, covered])
    assert sorted(found[0]) == [(4., 12.), (12., 12.)]
    assert found[1] == [(20., 20.)]
    p2 = build_head(
        strides=[4, 8, 16, 32],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256)),
        **FALLBACK)
    assert positives_per_box(p2, [tiny]) == [[(10., 10.)]]


def test_radius_rule_and_its_limit():
    """The unclipped centre region covers a box between points with the
    points within 1.5 strides (12 px) of its centre (8.5, 9); a box whose
    region holds only points of a smaller box with the same centre is still
    left out, which the fallback mends."""
    found = positives_per_box(build_head(**RADIUS), [[6., 7., 11., 11.]])
    grid = [(x, y) for x in (4., 12., 20.) for y in (4., 12., 20.)]
    assert sorted(found[0]) == grid
    large, small = [5., 5., 11., 11.], [6., 6., 10., 10.]
    found = positives_per_box(build_head(**RADIUS), [large, small])
    # centre (8, 8): the region (-4, 20) holds x, y in {4, 12}
    assert found[0] == [] and len(found[1]) == 4
    found = positives_per_box(
        build_head(**dict(RADIUS, fallback_points=1)), [large, small])
    assert len(found[0]) == 1 and len(found[1]) == 4


def test_offset_size_encoding_gives_any_sign_and_valid_boxes():
    head = build_head(**FALLBACK)
    reg = torch.randn(2, 4, 5, 5) * 3
    for training, norm in [(True, False), (False, False), (True, True),
                           (False, True)]:
        head.train(training)
        head.norm_on_bbox = norm
        distances = head.distances(reg, head.scales[0], 8)
        assert (distances < 0).any()
        assert ((distances[:, 0] + distances[:, 2]) > 0).all()
        assert ((distances[:, 1] + distances[:, 3]) > 0).all()
    head.norm_on_bbox = False
    # zero output: a 2 x 2 px box centred on the point
    distances = head.distances(torch.zeros(1, 4, 1, 1), head.scales[0], 8)
    assert distances.flatten().tolist() == [1., 1., 1., 1.]


def test_gaussian_centerness():
    head = build_head(**FALLBACK)
    targets = torch.tensor([[2., 2., 2., 2.], [-1., 2., 5., 2.],
                            [1., 1., 1., 1.]])
    centerness = head.gaussian_centerness_target(targets,
                                                 torch.full((3, ), 1.5))
    torch.testing.assert_close(
        centerness,
        torch.tensor([1., torch.exp(torch.tensor(-0.5 * (3 / 2)**2)),
                      1.]))


@pytest.mark.parametrize(
    'options', [dict(fallback_points=1),
                dict(fallback_points=1, box_encoding='offset_size'),
                dict(center_sampling=True, center_sampling_clip=False),
                dict(box_encoding='polar'),
                dict(centerness_type='iou')])
def test_bad_options_are_named(options):
    with pytest.raises(ValueError, match='box_encoding|centerness_type'):
        build_head(**options)


def test_losses_finite_with_points_outside_boxes():
    """Tiny boxes between points: every loss is finite, the box loss is
    positive and every parameter gets a finite gradient; no host sync."""
    head = build_head(**FALLBACK)
    generator = torch.Generator().manual_seed(0)
    feats = tuple(
        torch.randn(2, 8, SIZE // s, SIZE // s, generator=generator)
        for s in head.strides)
    samples = []
    for boxes in ([[6., 7., 9., 10.], [8.5, 9., 10.5, 11.]],
                  [[0., 0., 2., 2.]]):
        sample = DetDataSample(
            metainfo=dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        samples.append(sample)

    losses = {}

    def step():
        losses.update(head.loss(feats, samples))
        sum(losses.values()).backward()

    assert sync_ops(step, allowed_parents=('aten::one_hot', )) == []
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_bbox'] > 0
    for name, param in head.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), \
            name


def test_fullcov_training_step_does_not_sync(monkeypatch):
    """A training step of BAFE-Net-R18 with full coverage (P2, fallback,
    offset/size boxes, GIoU) runs no host-reading op but the two host-only
    ones that test_sync_free_training_step.py explains, and predicts a sky
    map at the input size from P2."""
    cfg = Config.fromfile(REPO_ROOT / 'configs/bafenet' /
                          'bafenet-fullcov_r18_fpn_20e_densesirst.py')
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = synthetic_batch()

    def marked_stack_batch(*args, **kwargs):
        with record_function('stack_batch'):
            return stack_batch(*args, **kwargs)

    monkeypatch.setattr(data_preprocessor, 'stack_batch', marked_stack_batch)
    model.train()
    found = sync_ops(
        lambda: model.train_step(batch, optim_wrapper),
        allowed_parents=('aten::one_hot', 'stack_batch'))
    assert found == []
    model.eval()
    with torch.no_grad():
        results = model.test_step(batch)
    assert len(results) == 2
    assert model.bbox_head.strides[model.bbox_head.sky_level] == 4
    assert results[0].pred_sem_seg.sky_prob.shape == (1, 64, 64)

"""SyncFreeFCOSHead: the targets, losses and gradients of mmdet's FCOSHead,
with no op that synchronises the device."""
import pytest
import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from bafenet.models.dense_heads import FCOSSegHead, SyncFreeFCOSHead
from bafenet.registry import MODELS
from tests.test_models.test_sync_free_training_step import sync_ops

SIZE = 64
HEAD = dict(
    num_classes=2,
    in_channels=8,
    feat_channels=8,
    stacked_convs=1,
    strides=[8, 16, 32],
    # small ranges so that a 64 x 64 image has positives on every level
    regress_ranges=((-1, 12), (12, 24), (24, 1e8)),
    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
OPTIONS = {
    'mmdet-defaults': dict(),
    'center-sampling': dict(center_sampling=True),
    'norm-on-bbox': dict(norm_on_bbox=True),
    'centerness-on-reg': dict(centerness_on_reg=True),
    'all-on-giou': dict(
        center_sampling=True,
        center_sample_radius=1.0,
        norm_on_bbox=True,
        centerness_on_reg=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
}


def build_pair(**options):
    """mmdet's FCOSHead and a SyncFreeFCOSHead with the same weights."""
    cfg = ConfigDict(**HEAD, **options)
    reference = MODELS.build(dict(type='mmdet.FCOSHead', **cfg))
    head = MODELS.build(dict(type='SyncFreeFCOSHead', **cfg))
    head.load_state_dict(reference.state_dict())
    assert type(reference) is FCOSHead
    return reference, head


def random_gt(num_boxes, generator):
    """``num_boxes`` boxes of 2 to 40 pixels inside the image."""
    wh = 2 + 38 * torch.rand(num_boxes, 2, generator=generator)
    x1y1 = (SIZE - wh) * torch.rand(num_boxes, 2, generator=generator)
    return InstanceData(
        bboxes=torch.cat([x1y1, x1y1 + wh], dim=1),
        labels=torch.randint(0, 2, (num_boxes, ), generator=generator))


def batch(num_boxes_per_image, seed=0):
    """Data samples of a batch whose images hold the given numbers of
    boxes."""
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for num_boxes in num_boxes_per_image:
        sample = DetDataSample(
            metainfo=dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE)))
        sample.gt_instances = random_gt(num_boxes, generator)
        samples.append(sample)
    return samples


def features(batch_size, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(
            batch_size, 8, SIZE // s, SIZE // s,
            generator=generator).requires_grad_() for s in (8, 16, 32))


def losses_and_grads(head, num_boxes_per_image):
    """Losses of ``head.loss`` and the gradients of their sum w.r.t. the
    head's parameters and the input features."""
    feats = features(len(num_boxes_per_image))
    losses = head.loss(feats, batch(num_boxes_per_image))
    sum(losses.values()).backward()
    grads = {name: p.grad for name, p in head.named_parameters()}
    grads.update({f'feat{i}': f.grad for i, f in enumerate(feats)})
    return losses, grads


def assert_close(actual, expected):
    """Within 1e-5 relative to the tensor's largest magnitude."""
    scale = expected.abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(
        actual, expected, rtol=1e-5, atol=1e-5 * scale + 1e-12)


@pytest.mark.parametrize('options', OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize(
    'num_boxes_per_image', [(3, 0, 6), (0, 0)],
    ids=['3-images-one-empty', 'no-gt'])
def test_losses_and_gradients_equal_mmdet(options, num_boxes_per_image):
    reference, head = build_pair(**options)
    expected_losses, expected_grads = losses_and_grads(
        reference, num_boxes_per_image)
    losses, grads = losses_and_grads(head, num_boxes_per_image)
    assert losses.keys() == expected_losses.keys()
    for name, expected in expected_losses.items():
        assert_close(losses[name], expected)
    if sum(num_boxes_per_image):
        assert expected_losses['loss_bbox'] > 0
    for name, expected in expected_grads.items():
        assert grads[name] is not None, name
        assert torch.isfinite(grads[name]).all(), name
        assert_close(grads[name], expected)


@pytest.mark.parametrize(
    'options', [OPTIONS['mmdet-defaults'], OPTIONS['all-on-giou']],
    ids=['mmdet-defaults', 'all-on-giou'])
def test_targets_equal_mmdet(options):
    reference, head = build_pair(**options)
    points = head.prior_generator.grid_priors(
        [(SIZE // s, SIZE // s) for s in head.strides], device='cpu')
    gts = [s.gt_instances for s in batch((5, 0, 8), seed=3)]
    expected_labels, expected_targets = reference.get_targets(points, gts)
    labels, targets = head.get_targets(points, gts)
    assert sum(int((lvl < 2).sum()) for lvl in labels) > 0
    for actual, expected in zip(labels, expected_labels):
        assert torch.equal(actual, expected)
    for actual, expected in zip(targets, expected_targets):
        torch.testing.assert_close(actual, expected)


def test_loss_by_feat_does_not_sync():
    """Forward and backward of the losses run no host-reading op. On CPU,
    FocalLoss one-hot encodes the labels and ``F.one_hot`` checks their
    range with ``.item()``; on CUDA mmcv's focal-loss kernel runs instead
    and ``one_hot`` skips the check, so those are not counted."""
    _, head = build_pair(**OPTIONS['all-on-giou'])
    feats = features(3)
    samples = batch((3, 0, 6))

    def step():
        sum(head.loss(feats, samples).values()).backward()

    assert sync_ops(step, allowed_parents=('aten::one_hot', )) == []


def test_fcos_seg_head_is_sync_free():
    assert issubclass(FCOSSegHead, SyncFreeFCOSHead)

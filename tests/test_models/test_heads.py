"""FCOSSegHead and BAFEHead: shapes, predictions and gradients."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData

from bafenet.registry import MODELS

HEAD = dict(
    num_classes=1,
    in_channels=32,
    feat_channels=32,
    stacked_convs=2,
    strides=[8, 16, 32],
    regress_ranges=((-1, 64), (64, 128), (128, 256)),
    norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
    loss_cls=dict(
        type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
        loss_weight=1.0),
    loss_bbox=dict(type='IoULoss', loss_weight=1.0),
    loss_centerness=dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    test_cfg=dict(
        nms_pre=100, min_bbox_size=0, score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.5), max_per_img=10))


def build_head(kind, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(ConfigDict(type=kind, **HEAD, **kwargs))


def features(batch, size=64):
    return tuple(
        torch.randn(batch, 32, size // s, size // s) for s in (8, 16, 32))


def samples(batch, size=64, ori_shape=(100, 80)):
    out = []
    for _ in range(batch):
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=ori_shape,
                batch_input_shape=(size, size),
                scale_factor=(size / ori_shape[1], size / ori_shape[0]),
                pad_shape=(size, size)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[10., 10., 14., 13.], [30., 20., 33., 24.]]),
            labels=torch.tensor([0, 0]))
        seg = torch.zeros(1, size, size, dtype=torch.long)
        seg[:, :size // 2] = 1
        seg[:, -4:] = 255
        sample.gt_sem_seg = PixelData(sem_seg=seg)
        out.append(sample)
    return out


@pytest.mark.parametrize('kind', ['FCOSSegHead', 'BAFEHead'])
@pytest.mark.parametrize('batch', [1, 3])
def test_output_shapes(kind, batch):
    head = build_head(kind)
    outs = head(features(batch))
    assert len(outs) == 4
    for level, size in enumerate((8, 4, 2)):
        cls, bbox, ctr, seg = (o[level] for o in outs)
        assert cls.shape == (batch, 1, size, size)
        assert bbox.shape == (batch, 4, size, size)
        assert ctr.shape == (batch, 1, size, size)
        assert seg.shape == (batch, 1, size, size)


@pytest.mark.parametrize('kind', ['FCOSSegHead', 'BAFEHead'])
@pytest.mark.parametrize('rescale,shape', [(True, (100, 80)),
                                           (False, (64, 64))])
def test_predict_gives_boxes_and_sky(kind, rescale, shape):
    head = build_head(kind).eval()
    with torch.no_grad():
        results, sky = head.predict(features(3), samples(3), rescale=rescale)
    assert len(results) == len(sky) == 3
    for result, prob in zip(results, sky):
        assert result.bboxes.shape[1] == 4
        assert prob.shape == (1, *shape)
        assert ((prob >= 0) & (prob <= 1)).all()


def test_loss_has_the_sky_term_with_its_weight():
    head = build_head('FCOSSegHead')
    losses = head.loss(features(2), samples(2))
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_centerness',
                           'loss_seg'}
    heavy = build_head(
        'FCOSSegHead',
        loss_seg=dict(type='CrossEntropyLoss', use_sigmoid=True,
                      ignore_index=255, avg_non_ignore=True, loss_weight=3.0))
    torch.testing.assert_close(
        heavy.loss(features(2), samples(2))['loss_seg'],
        3 * losses['loss_seg'])


def test_sky_loss_ignores_the_ignore_index():
    head = build_head('FCOSSegHead')
    logits = [torch.full((1, 1, 4, 4), 3.0)]
    labels = torch.full((1, 1, 4, 4), 255, dtype=torch.long)
    labels[..., 0, 0] = 1
    loss = head.loss_seg_by_feat(logits, labels)
    expected = torch.nn.functional.softplus(torch.tensor(-3.0))
    torch.testing.assert_close(loss, expected)


def test_zero_ratio_head_has_no_exchange_layers():
    head = build_head('BAFEHead', exchange_cfg=dict(ratio=0.0))
    assert len(list(head.exchange.parameters())) == 0
    cls, seg = torch.randn(2, 32, 4, 4), torch.randn(2, 32, 4, 4)
    out_seg, out_cls = head.exchange(seg, cls)
    assert out_seg is seg and out_cls is cls


def test_every_parameter_is_used():
    for kwargs in ({}, dict(exchange_cfg=dict(mode='static')),
                   dict(exchange_cfg=dict(ratio=0))):
        head = build_head('BAFEHead', **kwargs)
        sum(v.sum() for v in head.loss(features(2), samples(2)).values()
            ).backward()
        unused = [n for n, p in head.named_parameters() if p.grad is None]
        assert unused == [], (kwargs, unused)


@pytest.mark.parametrize('learn_scores', [True, False])
def test_gradients_reach_every_part(learn_scores):
    head = build_head('BAFEHead',
                      exchange_cfg=dict(learn_scores=learn_scores))
    losses = head.loss(features(2), samples(2))
    sum(losses.values()).backward()

    def grad_norm(module):
        return sum(
            p.grad.abs().sum().item() for p in module.parameters()
            if p.grad is not None)

    for part in (head.cls_convs, head.reg_convs, head.seg_convs, head.lsk,
                 head.cls_fuse, head.seg_fuse, head.exchange.mlp,
                 head.conv_seg):
        assert grad_norm(part) > 0
    scorer = head.exchange.scorer
    if learn_scores:
        assert grad_norm(scorer) > 0
    else:
        assert all(p.grad is None for p in scorer.parameters())

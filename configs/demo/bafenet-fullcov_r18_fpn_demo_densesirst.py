# `make demo`: BAFE-Net-R18 with full coverage, shrunk to learn on a 2-core
# CPU in a few minutes. What differs from the base, and why:
# - random weights, as the machine may be offline, so the backbone's BN
#   layers train (frozen BN of random weights would not normalise); with
#   init_cfg set back (and norm_cfg / norm_eval) it loads ImageNet weights;
# - a narrower network: a quarter of ResNet-18's channels, a 32-channel neck
#   and head with 2 convs per tower, so that whole frames run on a CPU;
# - targets keep their native size: training sees crop_size windows, most
#   holding a target (RandomTargetCrop), some anywhere in the frame (mmdet's
#   RandomCrop, the clutter the detector must learn to ignore); testing sees
#   whole frames (padded to /32, never resized);
# - DenseSIRST's boxes read as the exact pixel boxes they are
#   (box_convention='pixel', for training and testing alike), and no flip:
#   compared on val_v2 at this budget (seed 0, one thread each;
#   docs/get_started.md), the VOC boxes (corners minus one) scored mAP07
#   0.322 without a flip and 0.165 with mmdet's, the pixel boxes 0.465
#   without and 0.422 with it (docs/method.md, section 6);
# - locations within one stride of a box centre are positive too (the
#   radius rule, besides P2 and the fallback), and the box loss is DIoU,
#   whose centre-distance term pulls a tiny box onto its target;
# - AdamW, which converges within the few hundred steps there is time for
#   (D-Adaptation spends them estimating its step size), an EMA of the
#   weights (what is tested and saved) and NHWC convolutions
#   (ChannelsLastHook, 1.45x faster steps on a CPU);
# - a short schedule, scored on the first 32 of the 256 held-out test_v2
#   frames (tools/run_demo.sh says so when it prints the figures).
_base_ = '../bafenet/bafenet-fullcov_r18_fpn_20e_densesirst.py'

channels = 32
model = dict(
    backbone=dict(
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=channels),
    bbox_head=dict(
        in_channels=channels,
        feat_channels=channels,
        stacked_convs=2,
        exchange_cfg=dict(hidden_channels=channels),
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        loss_bbox=dict(type='DIoULoss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            center_sampling=True,
            center_sample_radius=1.0,
            center_sampling_clip=False)))

crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged'),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='LoadDetSegAnnotations'),
    dict(
        type='RandomChoice',
        prob=[0.7, 0.3],
        transforms=[[dict(type='RandomTargetCrop', crop_size=crop_size)],
                    [
                        dict(
                            type='RandomCrop',
                            crop_size=crop_size,
                            allow_negative_crop=True)
                    ]]),
]
# scale_factor 1 keeps the frame as it is (and records the scale with which
# predictions are mapped back to it).
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged'),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='LoadDetSegAnnotations'),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        dataset=dict(
            times=1,
            dataset=dict(
                ann_file='Splits/train_v2.txt',
                box_convention='pixel',
                pipeline=train_pipeline))))
# No validation while training: tools/run_demo.sh tests the model right
# after, on the first 32 test_v2 frames.
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = dict(
    num_workers=1,
    dataset=dict(indices=32, box_convention='pixel', pipeline=test_pipeline))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
max_epochs = 14
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[12],
        gamma=0.1)
]
custom_hooks = [
    dict(type='ChannelsLastHook'),
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=0.02,
        update_buffers=True,
        priority=49)
]
# Seeded, so that a run repeats the figures of docs/get_started.md (on the
# same CPU and thread count).
randomness = dict(seed=0)
default_hooks = dict(
    logger=dict(interval=16),
    checkpoint=dict(interval=max_epochs, save_best=None))

# `make demo`: BAFE-Net-R18 with full coverage, shrunk to learn on a 2-core
# CPU in a few minutes. What differs from the base, and why:
# - random weights, as the machine may be offline, so the backbone's BN
#   layers train (frozen BN of random weights would not normalise); with
#   init_cfg set back (and norm_cfg / norm_eval) it loads ImageNet weights;
# - a narrower network: a quarter of ResNet-18's channels, a 32-channel neck
#   and head with 2 convs per tower, so that whole frames run on a CPU;
# - targets keep their native size: training sees crop_size windows that
#   hold a target (RandomTargetCrop), testing sees whole frames (padded to
#   /32, never resized);
# - AdamW, which converges within the few hundred steps there is time for
#   (D-Adaptation spends them estimating its step size);
# - a few training images, a few held-out test images, a short schedule.
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
        mlp_hidden_channels=channels,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))

crop_size = (96, 96)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDetSegAnnotations'),
    dict(type='RandomTargetCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# scale_factor 1 keeps the frame as it is (and records the scale with which
# predictions are mapped back to it).
test_pipeline = [
    dict(type='LoadImageFromFile'),
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
            times=2,
            dataset=dict(
                ann_file='Splits/train_v2.txt',
                indices=64,
                pipeline=train_pipeline))))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(indices=32, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[6],
        gamma=0.1)
]
default_hooks = dict(logger=dict(interval=16))

# Our CPU recipe (not the paper's): BAFE-Net-R18 with full coverage at half
# ResNet-18 width, trained from random weights on train_v2 in under two hours
# of a 2-core x86 CPU, checkpoints chosen on val_v2 and scored once on all
# 256 test_v2 frames (docs/results.md). What differs from the demo it grows
# from (configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py):
# - mmdet's horizontal flip, which mirrors the demo's exact pixel boxes
#   exactly (docs/method.md, section 6);
# - half of ResNet-18's channels, a 64-channel neck and head;
# - a longer schedule, validated on val_v2 every val_interval epochs, the
#   best mAP07 kept (save_best), the test split untouched until the end.
_base_ = '../demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'

channels = 64
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=channels),
    bbox_head=dict(
        in_channels=channels,
        feat_channels=channels,
        exchange_cfg=dict(hidden_channels=channels),
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

train_pipeline = [*_base_.train_pipeline, dict(type='RandomFlip', prob=0.5)]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged'),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),
    dict(type='LoadDetSegAnnotations'),
    dict(
        type='PackDetSegInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    dataset=dict(dataset=dict(dataset=dict(pipeline=train_pipeline))))
# The demo validates nothing; here val_v2 is where checkpoints are chosen.
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DenseSIRSTDataset',
        data_root='data/SIRSTdevkit/',
        ann_file='Splits/val_v2.txt',
        box_convention='pixel',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(indices=None, pipeline=test_pipeline))
val_evaluator = dict(_delete_=True, type='DenseSIRSTMetric', score_thr=0.3, centroid_dist=3)
test_evaluator = val_evaluator

max_epochs = 240
val_interval = 20
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=val_interval)
val_cfg = dict(_delete_=True, type='ValLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.01,
        begin=0,
        end=max_epochs,
        by_epoch=True)
]
default_hooks = dict(
    logger=dict(interval=32),
    checkpoint=dict(
        interval=val_interval,
        max_keep_ckpts=2,
        save_best='mAP07',
        rule='greater'))

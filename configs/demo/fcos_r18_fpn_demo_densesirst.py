# `make demo`: FCOS-R18 on DenseSIRST, shrunk to train in about three minutes
# on a 2-core CPU. Only what must shrink differs from the real config: no
# ImageNet weights (the machine may be offline), 256x256 input, a 64-channel
# neck and head, 64 training and 32 test images of the splits that exist in
# both the real and the generated dataset, and 8 short epochs.
_base_ = '../fcos/fcos_r18_fpn_20e_densesirst.py'

channels = 64
model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(out_channels=channels),
    bbox_head=dict(
        in_channels=channels,
        feat_channels=channels,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

img_scale = (256, 256)
train_pipeline = _base_.train_pipeline
train_pipeline[2].scale = img_scale
test_pipeline = _base_.test_pipeline
test_pipeline[1].scale = img_scale

train_dataloader = dict(
    num_workers=1,
    dataset=dict(
        dataset=dict(
            times=1,
            dataset=dict(
                ann_file='Splits/train_v2.txt',
                indices=64,
                pipeline=train_pipeline))))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(indices=32, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[7])
]
default_hooks = dict(logger=dict(interval=16))

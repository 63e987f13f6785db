# `make demo`: FCOS-R18 on DenseSIRST, shrunk to run in a few minutes on a CPU.
# Only what must shrink differs from the real config: no ImageNet weights
# (offline), 256x256 input, 64 training and 32 test images of the splits that
# exist in both the real and the generated dataset, 6 short epochs.
_base_ = '../fcos/fcos_r18_fpn_20e_densesirst.py'

model = dict(backbone=dict(init_cfg=None))

img_scale = (256, 256)
train_pipeline = _base_.train_pipeline
train_pipeline[2].scale = img_scale
test_pipeline = _base_.test_pipeline
test_pipeline[1].scale = img_scale

train_dataloader = dict(
    num_workers=1,
    dataset=dict(
        times=1,
        dataset=dict(
            ann_file='Splits/train_v2.txt',
            indices=64,
            pipeline=train_pipeline)))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(indices=32, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=6, val_interval=6)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=6, by_epoch=True, milestones=[5])
]
default_hooks = dict(logger=dict(interval=10))

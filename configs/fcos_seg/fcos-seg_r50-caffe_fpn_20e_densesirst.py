# The multi-task baseline: FCOS plus a sky-segmentation branch, no exchange.
_base_ = '../fcos/fcos_r50-caffe_fpn_20e_densesirst.py'

model = dict(
    type='BAFENet',
    bbox_head=dict(
        type='FCOSSegHead',
        loss_seg=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            ignore_index=255,
            avg_non_ignore=True,
            loss_weight=1.0)))

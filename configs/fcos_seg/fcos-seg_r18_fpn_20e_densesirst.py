# FCOS-Seg with ResNet-18: the R18 FCOS config plus the sky branch.
_base_ = '../fcos/fcos_r18_fpn_20e_densesirst.py'

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

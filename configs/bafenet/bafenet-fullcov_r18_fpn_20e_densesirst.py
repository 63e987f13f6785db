# BAFE-Net-R18 with full coverage (ours, not the paper's): the assignment of
# configs/fcos/fcos-fullcov_r18_fpn_20e_densesirst.py on BAFE-Net-R18. The sky
# loss covers P2-P5 and the predicted sky map comes from P2 (sky_level 0, now
# stride 4) (docs/method.md, section "Coverage").
_base_ = './bafenet_r18_fpn_20e_densesirst.py'

model = dict(
    neck=dict(start_level=0, num_outs=4),
    bbox_head=dict(
        strides=[4, 8, 16, 32],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256)),
        box_encoding='offset_size',
        centerness_type='gaussian',
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        sky_level=0),
    # the FCOS rule, then every box still without a positive takes its
    # nearest free point (bafenet.models.task_modules.FCOSPointAssigner)
    train_cfg=dict(
        assigner=dict(
            type='FCOSPointAssigner', fallback_points=1, fallback_rounds=4)))

# FCOS-R18 with full coverage (ours, not the paper's): every DenseSIRST target
# gets a positive location. The FPN also outputs P2 (stride 4), where all
# targets fall; a box still without a positive point takes its nearest free
# one, so points may lie outside their box: the box is predicted as the
# centre's offset from the point plus its log half-size, with a Gaussian
# centerness and GIoU (docs/method.md, section "Coverage").
_base_ = './fcos_r18_fpn_20e_densesirst.py'

model = dict(
    neck=dict(start_level=0, num_outs=4),
    bbox_head=dict(
        strides=[4, 8, 16, 32],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256)),
        box_encoding='offset_size',
        centerness_type='gaussian',
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    # the FCOS rule, then every box still without a positive takes its
    # nearest free point (bafenet.models.task_modules.FCOSPointAssigner)
    train_cfg=dict(
        assigner=dict(
            type='FCOSPointAssigner', fallback_points=1, fallback_rounds=4)))

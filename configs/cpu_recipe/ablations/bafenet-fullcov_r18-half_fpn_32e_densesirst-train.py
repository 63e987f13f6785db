# The ablations of our CPU recipe (docs/results.md, "What the sky does"):
# the recipe of ../bafenet-fullcov_r18-half_fpn_cpu2h_densesirst-train.py on
# a shorter budget, 32 epochs of train_v2 (2,048 steps, a cosine schedule
# over them), each variant one config beside this one. Nothing is validated
# or selected: the last checkpoint is scored once on all 256 test_v2 frames.
_base_ = '../bafenet-fullcov_r18-half_fpn_cpu2h_densesirst-train.py'

val_dataloader = None
val_cfg = None
val_evaluator = None

max_epochs = 32
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
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
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))

# The paper's schedule: 20 epochs, DAdaptAdam (lr 1.0, decoupled weight decay
# 0.05, none on norms and biases), ConstantLR x1/3 for the first 500
# iterations, then x0.1 at epochs 8 and 16. SyncFreeDAdaptAdam is
# dadaptation's DAdaptAdam with its scalars kept on the device (same steps,
# no sync).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SyncFreeDAdaptAdam', lr=1.0, weight_decay=0.05, decouple=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))

param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=20,
        by_epoch=True,
        milestones=[8, 16],
        gamma=0.1)
]

# The paper trains with 2 images per GPU on one GPU. `--auto-scale-lr`
# scales lr by (GPUs x batch size) / base_batch_size.
auto_scale_lr = dict(enable=False, base_batch_size=2)

# The recipe's flip, in the ablation of our CPU recipe: the BAFE-Net config
# beside this one trained without mmdet's RandomFlip (the demo's pipeline),
# on the same exact pixel boxes (docs/method.md, section 6).
_base_ = './bafenet-fullcov_r18-half_fpn_32e_densesirst-train.py'

train_pipeline = [t for t in _base_.train_pipeline if t.type != 'RandomFlip']
train_dataloader = dict(
    dataset=dict(dataset=dict(dataset=dict(pipeline=train_pipeline))))

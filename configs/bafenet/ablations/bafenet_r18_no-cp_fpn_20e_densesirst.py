# Ablation: no copy-paste augmentation.
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackDetInputs')]))

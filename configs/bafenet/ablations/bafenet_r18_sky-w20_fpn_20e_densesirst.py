# Ablation on our BAFE-Net-R18: sky loss weight 2.0 (the original uses 1.0).
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

model = dict(bbox_head=dict(loss_seg=dict(loss_weight=2.0)))

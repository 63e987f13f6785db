# Ablation on our BAFE-Net-R18: exchange ratio 0.75 (the original uses 0.5).
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

model = dict(bbox_head=dict(exchange_cfg=dict(ratio=0.75)))

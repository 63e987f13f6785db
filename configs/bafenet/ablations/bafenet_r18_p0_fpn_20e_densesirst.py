# Ablation: no exchange (ratio 0); LSK attention and fusion convs stay.
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

model = dict(bbox_head=dict(exchange_cfg=dict(ratio=0.0)))

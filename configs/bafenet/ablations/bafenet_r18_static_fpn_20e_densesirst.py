# Ablation: static exchange (every other channel, the paper's first version)
# instead of the dynamic top-k selection.
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

model = dict(bbox_head=dict(exchange_mode='static'))

# Ablation: static exchange (every other channel, the selection of the
# original's first version) instead of the dynamic top-k selection. Only the
# selection changes: LSK attention and the k -> 64 -> k MLP stay, so this is
# not the original's first head (configs/original/bafenet-v1_*).
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

model = dict(bbox_head=dict(exchange_cfg=dict(mode='static')))

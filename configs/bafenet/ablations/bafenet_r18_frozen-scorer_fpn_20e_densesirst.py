# Ablation: the original code's scorer, whose scores only feed the top-k and
# which therefore never receives a gradient.
_base_ = '../bafenet_r18_fpn_20e_densesirst.py'

model = dict(bbox_head=dict(exchange_cfg=dict(learn_scores=False)))

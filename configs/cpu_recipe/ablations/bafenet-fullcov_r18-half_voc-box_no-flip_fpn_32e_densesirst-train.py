# DenseSIRST's boxes as VOC boxes (corners minus one, configs/original/'s
# convention) in the ablation of our CPU recipe: the no-flip config beside
# this one reading the boxes 1 px up and left of their targets, for training
# and testing alike, so that evaluation is unchanged (docs/method.md,
# section 6) and only training sees the shift.
_base_ = './bafenet-fullcov_r18-half_no-flip_fpn_32e_densesirst-train.py'

train_dataloader = dict(
    dataset=dict(dataset=dict(dataset=dict(box_convention='voc'))))
test_dataloader = dict(dataset=dict(box_convention='voc'))

# FCOS-Seg in the ablation of our CPU recipe: the BAFE-Net config beside this
# one without the interaction of its towers (attention, fusion convs and the
# exchange): the sky branch is trained on its own tower, the detector never
# sees it. Everything else (data, BAG-CP, assignment, losses, schedule, seed)
# is the same.
_base_ = './bafenet-fullcov_r18-half_fpn_32e_densesirst-train.py'

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='FCOSSegHead',
        **{
            key: value
            for key, value in _base_.model.bbox_head.items()
            if key not in ('type', 'exchange_cfg')
        }))

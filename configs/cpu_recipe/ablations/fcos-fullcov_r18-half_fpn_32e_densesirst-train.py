# FCOS in the ablation of our CPU recipe: the FCOS-Seg config beside this one
# without its sky branch (no segmentation tower or loss); the data, with its
# sky-aware BAG-CP pastes, and everything else stay the same.
_base_ = './fcos-seg-fullcov_r18-half_fpn_32e_densesirst-train.py'

model = dict(
    type='FCOS',
    bbox_head=dict(
        _delete_=True,
        type='SyncFreeFCOSHead',
        **{
            key: value
            for key, value in _base_.model.bbox_head.items()
            if key not in ('type', 'loss_seg', 'sky_level')
        }))

# SIRST-V2 (open-sirst-v2): mixed/<id>.png, annotations/masks/<id>_pixels0.png,
# splits/{trainval,test}_full.txt. Boxes come from the masks (its
# annotations/bboxes/*.xml are not read).
_base_ = './mask_sirst.py'

data_root = 'data/SIRST-V2/'
data_prefix = dict(img='mixed', mask='annotations/masks')
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(
                data_root=data_root,
                ann_file='splits/trainval_full.txt',
                data_prefix=dict(_delete_=True, **data_prefix),
                mask_suffix='_pixels0.png'))))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='splits/test_full.txt',
        data_prefix=dict(_delete_=True, **data_prefix),
        mask_suffix='_pixels0.png'))
test_dataloader = val_dataloader

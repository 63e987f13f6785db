# DenseSIRST with boxes from its target masks (SIRST/BinaryMask/
# <id>_pixels0.png) instead of its XMLs, its sky maps, and the mask metrics.
# The boxes are the masks' pixel extents; the XML boxes reach one pixel
# further up and left (docs/dataset.md).
_base_ = './mask_sirst.py'

data_root = 'data/SIRSTdevkit/'
data_prefix = dict(
    img='PNGImages', mask='SIRST/BinaryMask', seg='SkySeg/PaletteMask')
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(
                data_root=data_root,
                ann_file='Splits/trainval_v2.txt',
                data_prefix=dict(_delete_=True, **data_prefix),
                mask_suffix='_pixels0.png'))))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='Splits/test_v2.txt',
        data_prefix=dict(_delete_=True, **data_prefix),
        mask_suffix='_pixels0.png'))
test_dataloader = val_dataloader

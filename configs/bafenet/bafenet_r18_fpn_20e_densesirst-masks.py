# BAFE-Net (R18), ours, on a dataset annotated with target masks and sky
# maps: DenseSIRST's own target masks (boxes from SIRST/BinaryMask instead of
# its XMLs) with its sky maps, tested with the field's mask metrics too. The
# data are those of ../_base_/datasets/densesirst-masks.py; for your own
# data change data_root, mask_data's folders and suffix, and the split files
# (docs/dataset.md).
_base_ = './bafenet_r18_fpn_20e_densesirst.py'

data_root = 'data/SIRSTdevkit/'
mask_data = dict(
    type='MaskSIRSTDataset',
    data_root=data_root,
    data_prefix=dict(
        img='PNGImages', mask='SIRST/BinaryMask', seg='SkySeg/PaletteMask'),
    mask_suffix='_pixels0.png',
    mask_threshold=128)

test_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged', backend_args=None),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=False),
    dict(
        type='LoadDetSegAnnotations',
        with_target_mask=True,
        mask_threshold=mask_data['mask_threshold'],
        backend_args=None),
    dict(
        type='PackDetSegInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(ann_file='Splits/trainval_v2.txt', **mask_data))))
val_dataloader = dict(
    dataset=dict(
        ann_file='Splits/test_v2.txt', pipeline=test_pipeline, **mask_data))
test_dataloader = val_dataloader

val_evaluator = dict(mask_metrics=True)
test_evaluator = val_evaluator

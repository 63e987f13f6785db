# Infrared small-target datasets annotated with binary target masks
# (MaskSIRSTDataset: one box per 8-connected mask component), in
# BasicIRSTD's layout:
#   <data_root>/images/<id>.png, <data_root>/masks/<id>.png,
#   <data_root>/img_idx/{train,test}_<name>.txt
# The pipelines, resize and repeat are DenseSIRST's; only the data differ.
# The test pipeline also loads each target mask, and the metric adds the
# field's mask figures (mask_IoU, mask_nIoU, mask_Pd, mask_Fa_per_mpixel;
# docs/evaluation.md). Without sky maps every image's sky map is the ignore
# index, so a sky branch gets no sky loss. The configs of the datasets
# (nuaa-sirst.py, nudt-sirst.py, irstd-1k.py, sirst-v2.py,
# densesirst-masks.py) set data_root, the folders and the split files.
_base_ = './densesirst.py'

dataset_type = 'MaskSIRSTDataset'
data_prefix = dict(img='images', mask='masks')
# The field's rule for masks that are not strictly 0/255 or 0/1 (85 of
# IRSTD-1k's 1,001 masks): a value >= 128 is target. Building the dataset
# logs how many masks the rule read (docs/dataset.md).
mask_threshold = 128
backend_args = None

test_pipeline = [
    dict(
        type='LoadImageFromFile',
        color_type='unchanged',
        backend_args=backend_args),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='Resize', scale=_base_.img_scale, keep_ratio=False),
    dict(
        type='LoadDetSegAnnotations',
        with_target_mask=True,
        mask_threshold=mask_threshold,
        backend_args=backend_args),
    dict(
        type='PackDetSegInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(
                type=dataset_type,
                data_prefix=data_prefix,
                mask_threshold=mask_threshold))))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_prefix=data_prefix,
        mask_threshold=mask_threshold,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(mask_metrics=True)
test_evaluator = val_evaluator

# DenseSIRST: train on trainval_v2 (768 images, repeated 3x per epoch as in
# the original), test on test_v2 (256). Images are resized to 512x512 without
# keeping the aspect ratio. `data_root` is the one place the dataset lives;
# tools/train.py and tools/test.py accept --data-root to point elsewhere.
dataset_type = 'DenseSIRSTDataset'
data_root = 'data/SIRSTdevkit/'
img_scale = (512, 512)
backend_args = None
# The input contract (docs/inference.md, "Input contract"): frames are read
# as stored (gray or colour, 8 or 16 bits) and ScaleBitDepth makes each the
# 8-bit BGR image the model takes. DenseSIRST's PNGs are 8-bit, kept as they
# are; 16-bit frames are scaled from `bit_depth` bits (16: the full range; a
# 14-bit sensor's raw frames: 14, in every pipeline).

train_pipeline = [
    dict(
        type='LoadImageFromFile',
        color_type='unchanged',
        backend_args=backend_args),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='LoadDetSegAnnotations', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
]
# Runs on each loaded sample; copy-paste transforms go first and draw their
# source samples through the same train_pipeline (MultiImageMixDataset).
# Without one, the mixing stage costs nothing. BAG-CP is:
#   mix_pipeline = [dict(type='BAGCopyPaste'), dict(type='PackDetInputs')]
mix_pipeline = [dict(type='PackDetInputs')]
# Ground truth is loaded after the resize, so it stays in original image
# coordinates, where predictions are evaluated. PackDetSegInputs is mmdet's
# PackDetInputs that also gives the sky map mmseg's key (for SkyIoUMetric).
test_pipeline = [
    dict(
        type='LoadImageFromFile',
        color_type='unchanged',
        backend_args=backend_args),
    dict(type='ScaleBitDepth', bit_depth=16),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadDetSegAnnotations', backend_args=backend_args),
    dict(
        type='PackDetSegInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='MultiImageMixDataset',
        pipeline=mix_pipeline,
        dataset=dict(
            type='RepeatDataset',
            times=3,
            dataset=dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='Splits/trainval_v2.txt',
                filter_cfg=dict(filter_empty_gt=True),
                pipeline=train_pipeline,
                backend_args=backend_args))))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='Splits/test_v2.txt',
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# One metric computes every figure of docs/evaluation.md: VOC AP at IoU 0.5
# in both conventions of the paper's table (mAP07: 11-point, mAP12: area,
# legacy +1 boxes, with their recalls), precision/recall/F1 at score_thr and
# at the best threshold, target-level Pd/Fa (box centres within
# centroid_dist px) and, for models with a sky branch, sky IoU/mIoU/accuracy.
val_evaluator = dict(type='DenseSIRSTMetric', score_thr=0.3, centroid_dist=3)
test_evaluator = val_evaluator

# Reproduces the BAFE-Net ResNet-18 row of the original README (mAP07 0.283,
# recall07 0.335, mAP12 0.233, recall12 0.325; 57.654 GFLOPs): the original
# code as of commit 30dc53e (July 2024), the head whose FLOPs and parameters
# that row matches (configs/original/README.md).
#
# What the original builds, and how:
# - input: caffe mean, std 1, no BGR->RGB swap (the base's preprocessor), fed
#   to torchvision's ImageNet ResNet-18 with frozen BatchNorm (the original
#   writes `torchvision://resnet18`; torchvision is not needed here, so the
#   checkpoint is the file mmengine resolves that name to: its
#   hub/torchvision_0.12.json maps `resnet18` to resnet18-f37072fd.pth);
# - head: FCOS towers plus the sky tower, no attention module, the two fusion
#   convs per task, and the static exchange of the even channels through a
#   scalar 1 -> 64 -> 1 MLP applied to every exchanged value, with PyTorch's
#   default nn.Linear init (the head's Normal init only touches Conv2d);
# - data: BAG-CP as the original's SkyCopyPaste does it (legacy options;
#   a second sample loaded for every sample, no source bank);
# - selection: the best epoch on test_v2 by mAP07 and, separately, by mAP12.
_base_ = [
    '../_base_/models/fcos_r50-caffe_fpn.py',
    '../_base_/datasets/densesirst.py', '../_base_/schedules/schedule_20e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    type='BAFENet',
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet18-f37072fd.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]),
    bbox_head=dict(
        type='BAFEHead',
        attention_mode='none',
        exchange_cfg=dict(
            type='CrossTaskExchange',
            ratio=0.5,
            mode='static',
            hidden_channels=64,
            mlp_form='scalar',
            mlp_init='pytorch'),
        loss_seg=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            ignore_index=255,
            avg_non_ignore=True,
            loss_weight=1.0)))

# SkyCopyPaste: n ~ U{0..min(#source targets, 99)}, clusters of 5 in windows
# of 25 px shrinking by 3 down to 10 px (its 7 px window is never accepted),
# 102 tries per search, floored destination boxes, int-cropped patches,
# saturated 1x1 patches, shrunk windows carried over to the next cluster.
original_bag_cp = dict(
    type='OriginalBAGCopyPaste',
    max_num_pasted=99,
    min_window_size=10,
    num_candidates=102)
train_dataloader = dict(
    dataset=dict(
        pipeline=[original_bag_cp,
                  dict(type='PackDetInputs')],
        dataset=dict(
            dataset=dict(filter_cfg=dict(filter_empty_gt=False)))))

# The published mAP07 and mAP12 come from separate, unseeded runs, each kept
# at its best epoch on test_v2; one run here keeps the best of both.
default_hooks = dict(
    checkpoint=dict(save_best=['mAP07', 'mAP12'], rule='greater'))

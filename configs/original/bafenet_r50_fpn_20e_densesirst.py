# Reproduces the BAFE-Net ResNet-50 row of the original README (mAP07 0.274,
# recall07 0.342, mAP12 0.248, recall12 0.338; 71.639 GFLOPs): the original
# code at commit cd1ae23 (the dynamic head of August 2024, unchanged since
# 73066c8; the row was published in October 2024).
#
# What the original builds, and how:
# - input: caffe mean, std 1, no BGR->RGB swap (the base's preprocessor), into
#   a caffe-style ResNet-50 (stride on the 1x1 convs) initialised with
#   torchvision's ImageNet ResNet-50, whose blocks put the stride on the 3x3
#   convs (the original writes `torchvision://resnet50`; the checkpoint is
#   the file mmengine resolves that name to: its hub/torchvision_0.12.json
#   maps `resnet50` to resnet50-0676ba61.pth), frozen BatchNorm;
# - head: LSK on both towers with its output replacing the features
#   (`y = attn`), the two fusion convs per task, the dynamic exchange of the
#   top half of the channels by an LSK channel scorer that never learns (its
#   scores only feed the top-k) and a 128 -> 64 -> 128 MLP with PyTorch's
#   default nn.Linear init;
# - data: BAG-CP as the original's SkyCopyPaste does it (legacy options);
# - selection: the best epoch on test_v2 by mAP07 and, separately, by mAP12.
_base_ = './bafenet-v1_r18_fpn_20e_densesirst.py'

model = dict(
    backbone=dict(
        depth=50,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet50-0676ba61.pth')),
    neck=dict(in_channels=[256, 512, 1024, 2048]),
    bbox_head=dict(
        attention_mode='replace',
        exchange_cfg=dict(
            mode='dynamic', learn_scores=False, mlp_form='vector')))

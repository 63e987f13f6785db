_base_ = './fcos_r50-caffe_fpn_20e_densesirst.py'

# ResNet-18 with torchvision's ImageNet weights (fetched by URL, so torchvision
# itself is not needed) and their normalisation.
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        depth=18,
        style='pytorch',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet18-f37072fd.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))

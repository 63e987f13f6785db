# Reproduces the FCOS ResNet-50 row of the original README (mAP07 0.232,
# recall07 0.315, mAP12 0.204, recall12 0.324; 50.291 GFLOPs, 32.113 M):
# mmdet's standard FCOS as the original trains it (commit cd1ae23,
# deepir/.mim/configs/detection/fcos/fcos_r18-caffe_fpn_gn-head_1x_sirstv2.py,
# which despite its name builds a ResNet-50).
#
# What the original builds, and how:
# - input: caffe mean, std 1, no BGR->RGB swap, into a caffe-style ResNet-50
#   initialised with torchvision's ImageNet ResNet-50 (`torchvision://
#   resnet50`, the file mmengine resolves that name to), frozen BatchNorm;
# - FPN P3-P7: five outputs, the two extra levels by convs on the FPN
#   outputs with a ReLU before them; mmdet's default regress ranges;
# - data: no copy-paste;
# - selection: the best epoch on test_v2 by mAP12 (its evaluator is VOC
#   'area' AP).
_base_ = [
    '../_base_/models/fcos_r50-caffe_fpn.py',
    '../_base_/datasets/densesirst.py', '../_base_/schedules/schedule_20e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet50-0676ba61.pth')),
    neck=dict(
        add_extra_convs='on_output', relu_before_extra_convs=True,
        num_outs=5),
    bbox_head=dict(
        strides=[8, 16, 32, 64, 128],
        regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512),
                        (512, 1e8))))

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(filter_cfg=dict(filter_empty_gt=False)))))

default_hooks = dict(checkpoint=dict(save_best='mAP12', rule='greater'))

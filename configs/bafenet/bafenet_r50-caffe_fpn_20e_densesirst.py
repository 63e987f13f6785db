# BAFE-Net (R50): FCOS-Seg plus LSK attention and the dynamic hard exchange of
# half the channels between the classification and segmentation towers.
_base_ = '../fcos_seg/fcos-seg_r50-caffe_fpn_20e_densesirst.py'

model = dict(
    bbox_head=dict(
        type='BAFEHead',
        exchange_ratio=0.5,
        exchange_mode='dynamic',
        mlp_hidden_channels=64,
        learn_scores=True))

# BAG-CP: targets of a second sample pasted into the sky, in clusters. The
# sources come from the last 64 samples each worker loaded, which spares the
# second load per sample (see docs/method.md).
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='BAGCopyPaste', source_bank_size=64),
        dict(type='PackDetInputs')
    ]))

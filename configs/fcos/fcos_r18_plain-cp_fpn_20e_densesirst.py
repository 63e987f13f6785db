# FCOS-R18 trained with plain copy-paste: targets pasted one by one, anywhere
# in the frame, by copying their pixels.
_base_ = './fcos_r18_fpn_20e_densesirst.py'

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='BAGCopyPaste',
            sky_only=False,
            blend='hard',
            clustered=False,
            source_bank_size=64),
        dict(type='PackDetInputs')
    ]))

# FCOS-R18 trained with BAG-CP.
_base_ = './fcos_r18_fpn_20e_densesirst.py'

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='BAGCopyPaste', source_bank_size=64),
        dict(type='PackDetInputs')
    ]))

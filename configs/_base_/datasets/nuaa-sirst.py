# NUAA-SIRST (SIRST v1) in BasicIRSTD's layout: images/, masks/,
# img_idx/{train,test}_NUAA-SIRST.txt.
_base_ = './mask_sirst.py'

data_root = 'data/NUAA-SIRST/'
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(
                data_root=data_root,
                ann_file='img_idx/train_NUAA-SIRST.txt'))))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='img_idx/test_NUAA-SIRST.txt'))
test_dataloader = val_dataloader

# IRSTD-1k in BasicIRSTD's layout: images/, masks/,
# img_idx/{train,test}_IRSTD-1K.txt.
_base_ = './mask_sirst.py'

data_root = 'data/IRSTD-1K/'
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(
                data_root=data_root, ann_file='img_idx/train_IRSTD-1K.txt'))))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='img_idx/test_IRSTD-1K.txt'))
test_dataloader = val_dataloader

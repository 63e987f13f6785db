# NUDT-SIRST in BasicIRSTD's layout: images/, masks/,
# img_idx/{train,test}_NUDT-SIRST.txt. DNANet's release has the same folders
# and the split in 50_50/{train,test}.txt: set
# ann_file='50_50/train.txt' / '50_50/test.txt'.
_base_ = './mask_sirst.py'

data_root = 'data/NUDT-SIRST/'
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            dataset=dict(
                data_root=data_root,
                ann_file='img_idx/train_NUDT-SIRST.txt'))))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='img_idx/test_NUDT-SIRST.txt'))
test_dataloader = val_dataloader

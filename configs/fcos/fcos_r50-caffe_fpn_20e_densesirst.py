_base_ = [
    '../_base_/models/fcos_r50-caffe_fpn.py',
    '../_base_/datasets/densesirst.py', '../_base_/schedules/schedule_20e.py',
    '../_base_/default_runtime.py'
]

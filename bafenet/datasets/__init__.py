from .densesirst import DenseSIRSTDataset
from .mask_sirst import MaskSIRSTDataset
from .target_mask import mask_boxes, read_target_mask
from .transforms import *  # noqa: F401,F403
from .validation import DatasetError, DenseSIRSTValidator, SampleLoadError

__all__ = [
    'DatasetError', 'DenseSIRSTDataset', 'DenseSIRSTValidator',
    'MaskSIRSTDataset', 'SampleLoadError', 'mask_boxes', 'read_target_mask'
]

from .densesirst import DenseSIRSTDataset
from .mask_sirst import MaskSIRSTDataset
from .transforms import *  # noqa: F401,F403
from .validation import (DatasetError, DenseSIRSTValidator, mask_boxes,
                         read_target_mask)

__all__ = [
    'DatasetError', 'DenseSIRSTDataset', 'DenseSIRSTValidator',
    'MaskSIRSTDataset', 'mask_boxes', 'read_target_mask'
]

from .densesirst import DenseSIRSTDataset
from .layout import DENSESIRST_LAYOUT, MASK_SIRST_LAYOUT, DatasetLayout
from .mask_sirst import MaskSIRSTDataset
from .readers import parse_voc_xml, read_split
from .target_mask import mask_boxes, read_target_mask
from .transforms import *  # noqa: F401,F403
from .validation import DatasetError, DenseSIRSTValidator, SampleLoadError

__all__ = [
    'DENSESIRST_LAYOUT', 'DatasetError', 'DatasetLayout', 'DenseSIRSTDataset',
    'DenseSIRSTValidator', 'MASK_SIRST_LAYOUT', 'MaskSIRSTDataset',
    'SampleLoadError', 'mask_boxes', 'parse_voc_xml', 'read_split',
    'read_target_mask'
]

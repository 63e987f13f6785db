from .bafe_head import BAFEHead
from .fcos_seg_head import FCOSSegHead

__all__ = ['BAFEHead', 'FCOSSegHead']

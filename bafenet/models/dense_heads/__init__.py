from .bafe_head import BAFEHead
from .fcos_seg_head import FCOSSegHead
from .sync_free_fcos_head import SyncFreeFCOSHead

__all__ = ['BAFEHead', 'FCOSSegHead', 'SyncFreeFCOSHead']

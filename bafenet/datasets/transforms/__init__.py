from .bag_copy_paste import BAGCopyPaste
from .formatting import PackDetSegInputs
from .loading import LoadDetSegAnnotations, ScaleBitDepth
from .random_target_crop import RandomTargetCrop

__all__ = [
    'BAGCopyPaste', 'LoadDetSegAnnotations', 'PackDetSegInputs',
    'RandomTargetCrop', 'ScaleBitDepth'
]

from .bag_copy_paste import BAGCopyPaste
from .formatting import PackDetSegInputs
from .loading import LoadDetSegAnnotations, ScaleBitDepth
from .original_bag_copy_paste import OriginalBAGCopyPaste
from .random_target_crop import RandomTargetCrop

__all__ = [
    'BAGCopyPaste', 'LoadDetSegAnnotations', 'OriginalBAGCopyPaste',
    'PackDetSegInputs', 'RandomTargetCrop', 'ScaleBitDepth'
]

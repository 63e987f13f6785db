from .bag_copy_paste import BAGCopyPaste
from .loading import LoadDetSegAnnotations
from .random_target_crop import RandomTargetCrop

__all__ = ['BAGCopyPaste', 'LoadDetSegAnnotations', 'RandomTargetCrop']

from .bag_copy_paste import BAGCopyPaste
from .formatting import PackDetSegInputs
from .loading import LoadDetSegAnnotations
from .pixel_box_random_flip import PixelBoxRandomFlip
from .random_target_crop import RandomTargetCrop

__all__ = [
    'BAGCopyPaste', 'LoadDetSegAnnotations', 'PackDetSegInputs',
    'PixelBoxRandomFlip', 'RandomTargetCrop'
]

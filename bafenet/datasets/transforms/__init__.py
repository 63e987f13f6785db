from .bag_copy_paste import BAGCopyPaste
from .formatting import PackDetSegInputs
from .loading import LoadDetSegAnnotations

__all__ = ['BAGCopyPaste', 'LoadDetSegAnnotations', 'PackDetSegInputs']

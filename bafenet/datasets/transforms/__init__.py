from .bag_copy_paste import BAGCopyPaste
from .loading import LoadDetSegAnnotations

__all__ = ['BAGCopyPaste', 'LoadDetSegAnnotations']

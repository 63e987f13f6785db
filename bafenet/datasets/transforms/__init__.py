from .loading import LoadDetSegAnnotations

__all__ = ['LoadDetSegAnnotations']

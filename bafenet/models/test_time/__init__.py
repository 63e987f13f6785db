from .tiled_detector import DEFAULT_OVERLAP, TiledDetector

__all__ = ['DEFAULT_OVERLAP', 'TiledDetector']

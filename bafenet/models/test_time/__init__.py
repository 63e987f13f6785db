from .tiled_detector import DEFAULT_OVERLAP, TiledDetector, tiled_test_config

__all__ = ['DEFAULT_OVERLAP', 'TiledDetector', 'tiled_test_config']

from .tiled_detector import (DEFAULT_OVERLAP, TiledDetector, add_tile_arguments,
                             tiled_test_config)

__all__ = [
    'DEFAULT_OVERLAP', 'TiledDetector', 'add_tile_arguments',
    'tiled_test_config'
]

from .inference import (SkyDetResult, inference_detector, init_detector,
                        list_images)

__all__ = [
    'SkyDetResult', 'init_detector', 'inference_detector', 'list_images'
]

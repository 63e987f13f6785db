from .inference import inference_detector, init_detector
from .sky_det_inferencer import SkyDetInferencer

__all__ = ['SkyDetInferencer', 'init_detector', 'inference_detector']

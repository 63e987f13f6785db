from .sky_det_visualizer import SkyDetLocalVisualizer

__all__ = ['SkyDetLocalVisualizer']

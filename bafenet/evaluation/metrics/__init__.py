from .densesirst_metric import DenseSIRSTMetric
from .dump_sky_det_results import DumpSkyDetResults
from .sky_iou_metric import SkyIoUMetric

__all__ = ['DenseSIRSTMetric', 'DumpSkyDetResults', 'SkyIoUMetric']

from .densesirst_metric import DenseSIRSTMetric
from .dump_sky_det_results import DumpSkyDetResults

__all__ = ['DenseSIRSTMetric', 'DumpSkyDetResults']

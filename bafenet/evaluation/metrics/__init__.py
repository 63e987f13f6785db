from .densesirst_metric import DenseSIRSTMetric

__all__ = ['DenseSIRSTMetric']

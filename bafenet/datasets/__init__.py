from .densesirst import DatasetError, DenseSIRSTDataset, SampleError
from .synthetic_densesirst import generate_synthetic_densesirst
from .transforms import *  # noqa: F401,F403

__all__ = [
    'DatasetError', 'DenseSIRSTDataset', 'SampleError',
    'generate_synthetic_densesirst'
]

from .densesirst import DenseSIRSTDataset
from .synthetic_densesirst import generate_synthetic_densesirst
from .transforms import *  # noqa: F401,F403
from .validation import DatasetError, DenseSIRSTValidator

__all__ = [
    'DatasetError', 'DenseSIRSTDataset', 'DenseSIRSTValidator',
    'generate_synthetic_densesirst'
]

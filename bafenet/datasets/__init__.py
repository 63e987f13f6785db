from .densesirst import DenseSIRSTDataset
from .transforms import *  # noqa: F401,F403
from .validation import DatasetError, DenseSIRSTValidator

__all__ = ['DatasetError', 'DenseSIRSTDataset', 'DenseSIRSTValidator']

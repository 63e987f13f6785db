"""Helpers for tests and the demo; not part of the method."""
from .synthetic_densesirst import (generate_synthetic_densesirst,
                                   synthetic_record)

__all__ = ['generate_synthetic_densesirst', 'synthetic_record']

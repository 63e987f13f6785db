from .dadapt_adam import SyncFreeDAdaptAdam

__all__ = ['SyncFreeDAdaptAdam']

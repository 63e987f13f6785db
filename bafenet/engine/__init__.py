from .optimizers import SyncFreeDAdaptAdam

__all__ = ['SyncFreeDAdaptAdam']

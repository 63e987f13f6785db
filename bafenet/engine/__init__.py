from .hooks import ChannelsLastHook
from .optimizers import SyncFreeDAdaptAdam

__all__ = ['ChannelsLastHook', 'SyncFreeDAdaptAdam']

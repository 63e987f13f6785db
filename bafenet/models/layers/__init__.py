from .cross_task_exchange import CrossTaskExchange, gather_channels
from .lsk_attention import LSKAttention

__all__ = ['CrossTaskExchange', 'LSKAttention', 'gather_channels']

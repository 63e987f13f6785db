from .cross_task_exchange import CrossTaskExchange, gather_channels
from .dilated_depthwise_conv import DilatedDepthwiseConv2d
from .lsk_attention import LSKAttention

__all__ = [
    'CrossTaskExchange', 'DilatedDepthwiseConv2d', 'LSKAttention',
    'gather_channels'
]

"""Channels-last (NHWC) weights for faster convolutions on CPU."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from bafenet.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model's 4-D parameters and buffers to the channels-last
    memory format before the run starts.

    oneDNN, which runs PyTorch's CPU convolutions, computes in NHWC: with
    NCHW (contiguous) weights every convolution reorders its tensors, and
    the backward pass of a depthwise convolution (BAFE-Net's LSK attention)
    takes a slow path, 10-20x its forward. With channels-last weights the
    first convolution returns NHWC activations and the rest of the network
    follows (``benchmark.py channels-last``: 1.40x faster training steps of
    the ``make demo`` model on a 2-core CPU). The values are those of the
    contiguous model up to float rounding; the parameters stay the same
    objects (the optimizer keeps them) and a checkpoint loads into either
    format. Not measured on a GPU, where the choice of cuDNN kernels
    decides whether the format helps.

    Its priority, ``'VERY_HIGH'``, puts it before the hooks that copy the
    model in ``before_run`` (``EMAHook``), so that their copies are
    channels-last too. Used by ``tools/train.py`` and ``tools/test.py``
    through ``custom_hooks``; models built outside a Runner (the inferencer)
    keep the contiguous format.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Convert ``runner.model`` (the wrapped module of a wrapper)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.to(memory_format=torch.channels_last)

"""Hard exchange of feature channels between two tasks."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import normal_init
from torch import Tensor

from bafenet.registry import MODELS
from .lsk_attention import LSKAttention


def gather_channels(x: Tensor, index: Tensor) -> Tensor:
    """``x[b, index[b]]`` for every sample b: (B, C, H, W), (B, k) -> (B, k,
    H, W)."""
    return x.gather(1, index[:, :, None, None].expand(-1, -1, *x.shape[2:]))


@MODELS.register_module()
class CrossTaskExchange(nn.Module):
    """Replace k channels of each task's feature with k channels of the
    other's, passed through a shared MLP.

    For inputs ``a`` and ``b`` (B, C, H, W), each picks k = int(ratio * C)
    channel indices ``I_a``, ``I_b`` (B, k); then ``out_a[:, I_a] =
    MLP(b[:, I_b])`` and ``out_b[:, I_b] = MLP(a[:, I_a])``: the other C - k
    channels pass unchanged. This is a hard exchange (replacement, not a sum).
    The whole batch is done with one gather and one scatter per direction.

    Selection modes:

    - ``'dynamic'``: per sample, the top-k channels by a channel score
      ``sigmoid(mean_HW(x * LSK(x)))``; one scorer serves both tasks (the
      original code from August 2024 on).
    - ``'static'``: the same k evenly spaced channels for every sample: the
      even channels at ratio 0.5, as in the original's July-2024 code.

    MLP forms (both are 1x1 convs, so the MLP runs on the feature maps):

    - ``'vector'``: k -> hidden -> k on the k exchanged values at each pixel
      (the original's dynamic exchange).
    - ``'scalar'``: 1 -> hidden -> 1 on every exchanged value on its own
      (the original's static exchange; 3 * hidden + 1 parameters, 193 at
      hidden 64). It costs the same multiply-adds as the vector form at
      k = 2 * hidden, but its hidden activations are k times larger.

    Args:
        channels (int): C.
        ratio (float): Exchange ratio p in [0, 1]; 0 makes the module the
            identity and builds no layers.
        mode (str): ``'dynamic'`` or ``'static'``.
        hidden_channels (int): Hidden width of the MLP.
        learn_scores (bool): In dynamic mode, multiply the exchanged channels
            by their scores, so that the scorer receives a gradient. False
            reproduces the original code, where the scores only feed the
            top-k and the scorer never learns.
        mlp_form (str): ``'vector'`` or ``'scalar'``.
        mlp_init (str): How :meth:`init_weights` initialises the MLP:
            ``'normal'``, Normal(0, 0.01) weights and zero biases, what the
            detection head gives all its convolutions; or ``'pytorch'``,
            PyTorch's default for ``nn.Linear`` (Kaiming-uniform weights,
            biases uniform in +-1/sqrt(fan_in)), which the original's
            ``nn.Linear`` MLP keeps because the head's Normal init only
            touches Conv2d layers.
    """

    def __init__(self,
                 channels: int,
                 ratio: float = 0.5,
                 mode: str = 'dynamic',
                 hidden_channels: int = 64,
                 learn_scores: bool = True,
                 mlp_form: str = 'vector',
                 mlp_init: str = 'normal'):
        super().__init__()
        if not 0 <= ratio <= 1:
            raise ValueError(f'exchange ratio must be in [0, 1], got {ratio}')
        if mode not in ('dynamic', 'static'):
            raise ValueError(f"mode must be 'dynamic' or 'static', got {mode}")
        if mlp_form not in ('vector', 'scalar'):
            raise ValueError(
                f"mlp_form must be 'vector' or 'scalar', got {mlp_form!r}")
        if mlp_init not in ('normal', 'pytorch'):
            raise ValueError(
                f"mlp_init must be 'normal' or 'pytorch', got {mlp_init!r}")
        self.num_exchanged = int(channels * ratio)
        self.mode = mode
        self.learn_scores = learn_scores
        self.mlp_form = mlp_form
        self.mlp_init = mlp_init
        if self.num_exchanged == 0:
            return
        k = self.num_exchanged
        width = k if mlp_form == 'vector' else 1
        self.mlp = nn.Sequential(
            nn.Conv2d(width, hidden_channels, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_channels, width, 1))
        if mode == 'dynamic':
            self.scorer = LSKAttention(channels)
        else:
            step = channels / k
            self.register_buffer(
                'static_index', (torch.arange(k) * step).long(),
                persistent=False)

    def init_weights(self) -> None:
        """Initialise the MLP as ``mlp_init`` says. The head calls this after
        its own Normal init of every Conv2d, so the choice holds inside it."""
        if self.num_exchanged == 0:
            return
        for layer in (self.mlp[0], self.mlp[2]):
            if self.mlp_init == 'normal':
                normal_init(layer, mean=0, std=0.01, bias=0)
            else:
                layer.reset_parameters()

    def channel_scores(self, x: Tensor) -> Tensor:
        """Scores in (0, 1) of the channels of x (B, C, H, W): (B, C)."""
        attn = self.scorer(x)
        # mean_HW(x * attn) as a batched dot product: no (B, C, H, W) product
        dot = torch.linalg.vecdot(x.flatten(2), attn.flatten(2))
        return (dot / attn[0, 0].numel()).sigmoid()

    def static_indices(self, batch_size: int) -> Tensor:
        """The static mode's channel indices for a batch: (batch_size, k)."""
        return self.static_index.expand(batch_size, -1)

    def select(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Indices (B, k), ascending, of the channels of x (B, C, H, W) to
        exchange, and their scores (B, k) when they should weight the
        exchanged values."""
        if self.mode == 'static':
            return self.static_indices(x.shape[0]), None
        scores = self.channel_scores(x)
        index = scores.topk(
            self.num_exchanged, dim=1, sorted=False).indices.sort(dim=1).values
        return index, (scores.gather(1, index) if self.learn_scores else None)

    def transform(self, x: Tensor) -> Tensor:
        """The MLP on exchanged channels x (N, k, H, W) -> (N, k, H, W)."""
        if self.mlp_form == 'vector':
            return self.mlp(x)
        return self.mlp(x.reshape(-1, 1, *x.shape[2:])).view(x.shape)

    def exchanged(self, a: Tensor,
                  b: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """The channels to exchange of a and b, both (B, C, H, W).

        Returns:
            tuple: ``index`` (2B, k), the rows of a then those of b, and
            their ``weight`` (2B, k), or None when scores do not weigh
            them.
        """
        if self.mode == 'dynamic':
            # one scorer pass for both tasks
            return self.select(torch.cat([a, b]))
        return self.static_indices(2 * a.shape[0]), None

    def forward(self, a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
        """Exchange channels between a and b, both (B, C, H, W)."""
        if self.num_exchanged == 0:
            return a, b
        index, weight = self.exchanged(a, b)
        index_a, index_b = index.chunk(2)
        sent_a, sent_b = gather_channels(a, index_a), gather_channels(
            b, index_b)
        if weight is not None:
            weight_a, weight_b = weight[:, :, None, None].chunk(2)
            sent_a, sent_b = sent_a * weight_a, sent_b * weight_b
        received = self.transform(torch.cat([sent_b, sent_a]))
        to_a, to_b = received.chunk(2)
        shape = (-1, -1, *a.shape[2:])
        out_a = a.scatter(1, index_a[:, :, None, None].expand(shape), to_a)
        out_b = b.scatter(1, index_b[:, :, None, None].expand(shape), to_b)
        return out_a, out_b

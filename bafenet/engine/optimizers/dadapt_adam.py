"""D-Adapted Adam whose step never synchronises the device."""
from typing import Callable, Iterable, Optional, Tuple, Union

import torch
import torch.distributed as dist
from mmengine.logging import print_log
from torch import Tensor

from bafenet.registry import OPTIMIZERS


def _device_scalar(value: Union[float, Tensor], dtype: torch.dtype,
                   device: torch.device) -> Tensor:
    """``value`` as a 0-dim tensor on ``device``: a no-op for such a tensor;
    a Python number is filled in on the device (no host-to-device copy)."""
    if isinstance(value, Tensor):
        return value.to(device=device, dtype=dtype)
    return torch.full((), value, dtype=dtype, device=device)


@OPTIMIZERS.register_module()
class SyncFreeDAdaptAdam(torch.optim.Optimizer):
    """Adam with D-Adaptation step sizes (Defazio & Mishchenko, ICML 2023),
    the algorithm of ``dadaptation.DAdaptAdam`` 3.2, with its scalars kept on
    the parameters' device.

    ``dadaptation.DAdaptAdam`` accumulates the numerator and the l1 norm of
    ``s`` with two ``.item()`` per parameter tensor and keeps ``d`` as a
    Python float; on a GPU each ``.item()`` waits for all queued kernels.
    Here ``d``, ``numerator_weighted`` and the step count ``k`` of every
    param group are 0-dim tensors (``d`` and the numerator in float64, as
    Python floats are) and the update of ``d`` is a ``torch.where``, so
    ``step()`` only queues kernels. dadaptation returns early, without
    changing ``d``, ``k`` or the parameters, while the l1 norm of ``s`` is 0
    (no gradient so far, or ``lr`` 0 everywhere); here the same step is
    taken with its effects masked by that condition.

    Per-parameter state: ``s``, ``exp_avg`` and ``exp_avg_sq``, as in
    dadaptation (its per-parameter ``step`` count, which it never reads, is
    not kept). A dadaptation state dict loads: Python numbers in the param
    groups become device tensors at the next step.

    ``log_every`` > 0 logs ``d`` every ``log_every`` steps; deciding whether
    to log reads ``k`` on the host, a sync per step, so it is off by
    default.

    Args:
        params (iterable): Parameters or param-group dicts. All groups must
            share one ``lr`` (or have 0); scale a group with
            ``layer_scale`` instead.
        lr (float): Multiplier of the D-adapted step size. Defaults to 1.0.
        betas (tuple[float, float]): Adam's coefficients of the running
            averages of the gradient and its square. Defaults to
            (0.9, 0.999).
        eps (float): Added to the denominator. Defaults to 1e-8.
        weight_decay (float): L2 penalty (Adam) or decoupled weight decay
            (AdamW, with ``decouple``). Defaults to 0.
        log_every (int): Log every this many steps; 0 never. Defaults to 0.
        decouple (bool): AdamW-style decoupled weight decay. Defaults to
            False.
        use_bias_correction (bool): Adam's bias correction of the step size.
            Defaults to False.
        d0 (float): Initial estimate of D. Defaults to 1e-6.
        growth_rate (float): Largest factor by which D may grow in one step.
            Defaults to inf.
        fsdp_in_use (bool): Sum the numerator and the l1 norm over processes
            (sharded parameters); also turned on by a parameter with
            ``_fsdp_flattened``. Defaults to False.
    """

    def __init__(self,
                 params: Iterable,
                 lr: float = 1.0,
                 betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 weight_decay: float = 0,
                 log_every: int = 0,
                 decouple: bool = False,
                 use_bias_correction: bool = False,
                 d0: float = 1e-6,
                 growth_rate: float = float('inf'),
                 fsdp_in_use: bool = False) -> None:
        if not 0.0 < d0:
            raise ValueError(f'Invalid d0 value: {d0}')
        if not 0.0 < lr:
            raise ValueError(f'Invalid learning rate: {lr}')
        if not 0.0 < eps:
            raise ValueError(f'Invalid epsilon value: {eps}')
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(
                    f'Invalid beta parameter at index {index}: {beta}')
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            d=d0,
            k=0,
            layer_scale=1.0,
            numerator_weighted=0.0,
            log_every=log_every,
            growth_rate=growth_rate,
            use_bias_correction=use_bias_correction,
            decouple=decouple,
            fsdp_in_use=fsdp_in_use)
        self.d0 = d0
        super().__init__(params, defaults)

    @property
    def supports_memory_efficient_fp16(self) -> bool:
        return False

    @property
    def supports_flat_params(self) -> bool:
        return True

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None):
        """Take one optimisation step.

        Args:
            closure (callable, optional): Re-evaluates the model and returns
                the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        first = self.param_groups[0]
        device = first['params'][0].device
        d = _device_scalar(first['d'], torch.float64, device)
        numerator_weighted = _device_scalar(first['numerator_weighted'],
                                            torch.float64, device)
        k = _device_scalar(first['k'], torch.int64, device)
        beta1, beta2 = first['betas']
        sqrt_beta2 = beta2**0.5
        growth_rate = first['growth_rate']
        decouple = first['decouple']
        log_every = first['log_every']
        fsdp_in_use = first['fsdp_in_use']
        lr = max(group['lr'] for group in self.param_groups)

        dlr = d * lr
        if first['use_bias_correction']:
            steps = (k + 1).double()
            dlr = dlr * ((1 - beta2**steps)**0.5 / (1 - beta1**steps))

        numerator_acum = torch.zeros((), dtype=torch.float64, device=device)
        sk_l1 = torch.zeros((), dtype=torch.float64, device=device)
        for group in self.param_groups:
            group_lr = group['lr']
            if group_lr not in (lr, 0.0):
                raise RuntimeError(
                    'Setting different lr values in different parameter '
                    'groups is only supported for values of 0. To scale the '
                    'learning rate differently for each layer, set the '
                    "'layer_scale' value instead.")
            decay = group['weight_decay']
            eps = group['eps']
            r = group['layer_scale']
            # 0-dim factors of this group, computed once
            avg_factor = r * dlr * (1 - beta1)
            s_factor = dlr * (1 - sqrt_beta2)
            for p in group['params']:
                if p.grad is None:
                    continue
                fsdp_in_use = fsdp_in_use or hasattr(p, '_fsdp_flattened')
                grad = p.grad
                if decay != 0 and not decouple:
                    grad.add_(p, alpha=decay)
                state = self.state[p]
                if 's' not in state:
                    state['s'] = torch.zeros_like(p)
                    state['exp_avg'] = torch.zeros_like(p)
                    state['exp_avg_sq'] = torch.zeros_like(p)
                if group_lr == 0.0:
                    continue
                s, exp_avg = state['s'], state['exp_avg']
                exp_avg_sq = state['exp_avg_sq']
                denom = exp_avg_sq.sqrt().add_(eps)
                numerator_acum += r * dlr * torch.dot(
                    grad.flatten(),
                    s.div(denom).flatten()).double()
                exp_avg.mul_(beta1).addcmul_(grad, avg_factor)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                s.mul_(sqrt_beta2).addcmul_(grad, s_factor)
                sk_l1 += r * s.abs().sum().double()

        if lr == 0.0:
            # sk_l1 is 0: dadaptation returns here
            return loss
        numerator_weighted_new = (sqrt_beta2 * numerator_weighted +
                                  (1 - sqrt_beta2) * numerator_acum)
        global_numerator_weighted, global_sk_l1 = (numerator_weighted_new,
                                                   sk_l1)
        if fsdp_in_use:
            totals = torch.stack([numerator_weighted_new, sk_l1])
            dist.all_reduce(totals, op=dist.ReduceOp.SUM)
            global_numerator_weighted, global_sk_l1 = totals.unbind()
        d_hat = global_numerator_weighted / ((1 - sqrt_beta2) * global_sk_l1)
        # dadaptation returns before any update while sk_l1 is 0: no
        # gradient yet; then s and exp_avg are 0 wherever the group's lr is
        # not 0, and only the decoupled decay and the groups of lr 0 need
        # masking
        progress = sk_l1 > 0
        d_new = torch.where(
            progress, torch.maximum(d, torch.minimum(d_hat,
                                                     d * growth_rate)), d)
        numerator_weighted_new = torch.where(progress, numerator_weighted_new,
                                             numerator_weighted)

        if log_every > 0 and int(k) % log_every == 0:
            print_log(
                f'lr: {lr} dlr: {float(dlr)} d: {float(d_new)}. '
                f'sk_l1={float(global_sk_l1):1.1e} numerator_weighted='
                f'{float(global_numerator_weighted):1.1e}',
                logger='current')

        decay_factor = -dlr * progress
        for group in self.param_groups:
            group['numerator_weighted'] = numerator_weighted_new
            group['d'] = d_new
            group['k'] = k + progress.long()
            decay = group['weight_decay']
            eps = group['eps']
            group_decay_factor = decay * decay_factor
            for p in group['params']:
                if p.grad is None:
                    continue
                state = self.state[p]
                denom = state['exp_avg_sq'].sqrt().add_(eps)
                exp_avg = state['exp_avg']
                if group['lr'] == 0.0:
                    exp_avg = exp_avg * progress
                if decay != 0 and decouple:
                    p.addcmul_(p, group_decay_factor)
                p.addcdiv_(exp_avg, denom, value=-1)
        return loss

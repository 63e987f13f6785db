"""SyncFreeDAdaptAdam takes dadaptation.DAdaptAdam's steps without device
syncs, and its state dict resumes training."""
import copy
import io

import pytest
import torch
import torch.nn as nn
from dadaptation import DAdaptAdam
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from bafenet.engine import SyncFreeDAdaptAdam
from tests.conftest import REPO_ROOT
from tests.test_models.test_sync_free_training_step import sync_ops

STEPS = 20
OPTIONS = {
    'defaults': dict(),
    'decoupled-decay': dict(weight_decay=0.05, decouple=True),
    'coupled-decay': dict(weight_decay=0.01),
    'bias-correction': dict(use_bias_correction=True),
    'all-on': dict(
        lr=0.5,
        betas=(0.8, 0.99),
        eps=1e-6,
        weight_decay=0.05,
        decouple=True,
        use_bias_correction=True,
        d0=1e-4,
        growth_rate=1.05),
}


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 16), nn.GroupNorm(4, 16), nn.ReLU(), nn.Linear(16, 3))


def param_groups(model):
    """As mmengine's paramwise_cfg builds them: no decay on norms and
    biases, a layer scale on the last layer, and one frozen (lr 0) group."""
    groups = [
        dict(params=[model[0].weight]),
        dict(params=[model[0].bias, model[1].weight, model[1].bias],
             weight_decay=0.0),
        dict(params=[model[3].weight], layer_scale=0.5),
    ]
    return groups, [model[3].bias]


def build(optimizer_type, model, options):
    groups, frozen = param_groups(model)
    optimizer = optimizer_type(groups, **options)
    optimizer.add_param_group(dict(params=frozen, lr=0.0))
    return optimizer


def set_grads(model, step, zero=False):
    """Reproducible random gradients around a fixed direction (so that D
    grows); the first layer's bias gets none every third step."""
    generator = torch.Generator().manual_seed(step)
    for index, p in enumerate(model.parameters()):
        p.grad = (torch.randn(p.shape, generator=generator) + 1.0) * (
            index + 1)
        if zero:
            p.grad.zero_()
    if step % 3 == 0:
        model[0].bias.grad = None


def run(optimizer, model, steps, lr_factors=None, zero_steps=()):
    """Take ``steps`` steps, with lr scaled by ``lr_factors[i]`` at step
    i (like mmengine's schedulers, on every group whose lr is not 0)."""
    base_lrs = [group['lr'] for group in optimizer.param_groups]
    for step in range(steps):
        factor = lr_factors[step] if lr_factors else 1.0
        for group, base in zip(optimizer.param_groups, base_lrs):
            group['lr'] = base * factor
        set_grads(model, step, zero=step in zero_steps)
        optimizer.step()


def d_of(optimizer):
    return float(optimizer.param_groups[0]['d'])


@torch.no_grad()
def assert_same_run(model, reference_model, optimizer, reference):
    assert d_of(optimizer) > 1e-6 * 1.01  # d grew: D-adaptation is on
    assert d_of(optimizer) == pytest.approx(d_of(reference), rel=1e-6)
    for p, q in zip(model.parameters(), reference_model.parameters()):
        torch.testing.assert_close(
            p, q, rtol=1e-6, atol=1e-6 * q.abs().max().item())
    assert int(optimizer.param_groups[0]['k']) == \
        reference.param_groups[0]['k']


@pytest.mark.parametrize('options', OPTIONS.values(), ids=OPTIONS.keys())
def test_steps_equal_dadaptation(options):
    model, reference_model = make_model(), make_model()
    optimizer = build(SyncFreeDAdaptAdam, model, options)
    reference = build(DAdaptAdam, reference_model, options)
    # warm-up as in schedule_20e (x1/3), then x1
    factors = [1 / 3] * 5 + [1.0] * (STEPS - 5)
    run(optimizer, model, STEPS, factors)
    run(reference, reference_model, STEPS, factors)
    assert_same_run(model, reference_model, optimizer, reference)


def test_no_progress_steps_equal_dadaptation():
    """Zero gradients, then lr 0, change nothing in dadaptation (not even the
    decoupled decay or k); the masked steps must agree."""
    options = OPTIONS['all-on']
    model, reference_model = make_model(), make_model()
    optimizer = build(SyncFreeDAdaptAdam, model, options)
    reference = build(DAdaptAdam, reference_model, options)
    factors = [1.0] * 6 + [0.0] * 3 + [1.0] * 6
    for opt, net in ((optimizer, model), (reference, reference_model)):
        initial = copy.deepcopy(net.state_dict())
        run(opt, net, 3, factors, zero_steps=(0, 1, 2))
        for key, value in net.state_dict().items():
            assert torch.equal(value, initial[key]), key
        run(opt, net, len(factors), factors, zero_steps=(0, 1, 2))
    assert_same_run(model, reference_model, optimizer, reference)


def save_and_load(state_dict):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize('source', [SyncFreeDAdaptAdam, DAdaptAdam],
                         ids=['own-state', 'dadaptation-state'])
def test_state_dict_resumes(source):
    """10 steps, save, load into a new optimizer, 10 more: the same as 20
    steps of one optimizer (its own state exactly; dadaptation's state as
    dadaptation would go on)."""
    options = OPTIONS['all-on']
    model = make_model()
    first = build(source, model, options)
    run(first, model, STEPS // 2)
    state = save_and_load(first.state_dict())
    resumed = build(SyncFreeDAdaptAdam, model, options)
    resumed.load_state_dict(state)
    # the continuation: steps STEPS // 2 ... STEPS - 1
    continued_model = copy.deepcopy(model)
    continued = build(source, continued_model, options)
    continued.load_state_dict(first.state_dict())
    for step in range(STEPS // 2, STEPS):
        for opt, net in ((resumed, model), (continued, continued_model)):
            set_grads(net, step)
            opt.step()
    if source is SyncFreeDAdaptAdam:
        for p, q in zip(model.parameters(), continued_model.parameters()):
            assert torch.equal(p, q)
        assert torch.equal(resumed.param_groups[0]['d'],
                           continued.param_groups[0]['d'])
    else:
        assert_same_run(model, continued_model, resumed, continued)


def test_step_does_not_sync():
    model = make_model()
    optimizer = build(SyncFreeDAdaptAdam, model, OPTIONS['all-on'])
    set_grads(model, 1)

    def steps():
        for _ in range(2):
            optimizer.step()

    assert sync_ops(steps) == []
    assert isinstance(optimizer.param_groups[0]['d'], torch.Tensor)


def test_the_schedule_builds_it():
    cfg = Config.fromfile(REPO_ROOT /
                          'configs/_base_/schedules/schedule_20e.py')
    optim_wrapper = build_optim_wrapper(make_model(), cfg.optim_wrapper)
    optimizer = optim_wrapper.optimizer
    assert type(optimizer) is SyncFreeDAdaptAdam
    assert optimizer.defaults['lr'] == 1.0
    assert optimizer.defaults['weight_decay'] == 0.05
    assert optimizer.defaults['decouple']

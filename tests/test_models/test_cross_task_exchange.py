"""CrossTaskExchange on hand-made tensors."""
import pytest
import torch

from bafenet.models.layers import CrossTaskExchange


def make(ratio=0.5, mode='dynamic', learn_scores=True, channels=8):
    torch.manual_seed(0)
    return CrossTaskExchange(
        channels, ratio=ratio, mode=mode, hidden_channels=4,
        learn_scores=learn_scores).eval()


def test_exactly_the_selected_channels_are_replaced():
    module = make()
    a, b = torch.randn(3, 8, 5, 6), torch.randn(3, 8, 5, 6)
    index, _ = module.select(torch.cat([a, b]))
    index_a, index_b = index.chunk(2)
    out_a, out_b = module(a, b)
    for x, out, index in ((a, out_a, index_a), (b, out_b, index_b)):
        for sample in range(3):
            chosen = set(index[sample].tolist())
            assert len(chosen) == 4
            for c in range(8):
                same = torch.equal(out[sample, c], x[sample, c])
                assert same == (c not in chosen), (sample, c)


def test_replacement_is_the_mlp_of_the_other_task():
    module = make(learn_scores=False)
    a, b = torch.randn(2, 8, 3, 3), torch.randn(2, 8, 3, 3)
    index, _ = module.select(torch.cat([a, b]))
    index_a, index_b = index.chunk(2)
    out_a, out_b = module(a, b)
    for s in range(2):
        expect_a = module.mlp(b[s:s + 1, index_b[s]])[0]
        expect_b = module.mlp(a[s:s + 1, index_a[s]])[0]
        torch.testing.assert_close(out_a[s, index_a[s]], expect_a)
        torch.testing.assert_close(out_b[s, index_b[s]], expect_b)


def test_selection_is_top_k_by_score():
    module = make()
    x = torch.randn(2, 8, 4, 4)
    scores = module.channel_scores(x)
    index, weight = module.select(x)
    for s in range(2):
        top = set(scores[s].topk(4).indices.tolist())
        assert set(index[s].tolist()) == top
    torch.testing.assert_close(weight, scores.gather(1, index))


@pytest.mark.parametrize('mode', ['dynamic', 'static'])
def test_batch_of_three_equals_three_batches_of_one(mode):
    module = make(mode=mode)
    a, b = torch.randn(3, 8, 5, 5), torch.randn(3, 8, 5, 5)
    out_a, out_b = module(a, b)
    for s in range(3):
        one_a, one_b = module(a[s:s + 1], b[s:s + 1])
        torch.testing.assert_close(out_a[s:s + 1], one_a)
        torch.testing.assert_close(out_b[s:s + 1], one_b)


def test_static_mode_swaps_every_other_channel():
    module = make(mode='static')
    assert not hasattr(module, 'scorer')
    index, weight = module.select(torch.zeros(2, 8, 1, 1))
    assert weight is None
    assert index.tolist() == [[0, 2, 4, 6]] * 2


def test_ratio_zero_is_the_identity_and_builds_nothing():
    module = make(ratio=0.0)
    assert len(list(module.parameters())) == 0
    a, b = torch.randn(2, 8, 3, 3), torch.randn(2, 8, 3, 3)
    out_a, out_b = module(a, b)
    assert out_a is a and out_b is b


@pytest.mark.parametrize('learn_scores', [True, False])
def test_scorer_gradient_only_in_learning_mode(learn_scores):
    module = make(learn_scores=learn_scores).train()
    a = torch.randn(2, 8, 4, 4, requires_grad=True)
    b = torch.randn(2, 8, 4, 4, requires_grad=True)
    out_a, out_b = module(a, b)
    (out_a.square().sum() + out_b.square().sum()).backward()
    grads = [p.grad for p in module.scorer.parameters()]
    if learn_scores:
        assert all(g is not None and g.abs().sum() > 0 for g in grads)
    else:
        assert all(g is None for g in grads)
    assert all(p.grad.abs().sum() > 0 for p in module.mlp.parameters())

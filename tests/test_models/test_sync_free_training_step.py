"""A BAFE-Net-R18 training step runs no op that reads a device value on the
host (``.item()``, ``nonzero``, boolean-mask indexing, ``bool(tensor)``):
on a GPU each would stall the stream until the step's kernels finished."""
from typing import Callable, List, Sequence

import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmengine.model.base_model import data_preprocessor
from mmengine.model.utils import stack_batch
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData, PixelData
from torch.profiler import ProfilerActivity, profile, record_function

from bafenet.registry import MODELS
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'
#: Ops that copy a device value to the host (``is_nonzero`` is
#: ``bool(tensor)``; boolean-mask indexing runs ``nonzero``).
SYNC_OPS = frozenset({
    'aten::item', 'aten::_local_scalar_dense', 'aten::nonzero',
    'aten::nonzero_static', 'aten::is_nonzero'
})


def _enclosing(event) -> List[str]:
    """Names of the ops and ``record_function`` ranges around an event,
    innermost first."""
    names, parent = [], event.cpu_parent
    while parent is not None:
        names.append(parent.name)
        parent = parent.cpu_parent
    return names


def sync_ops(fn: Callable[[], object],
             allowed_parents: Sequence[str] = ()) -> List[str]:
    """Run ``fn`` under the profiler and list its host-syncing ops.

    ``with_stack`` is not used: with it, torch 2.13 sometimes fails to
    decode an event name (``UnicodeDecodeError``) on a model this size. Mark
    host-only code with ``torch.profiler.record_function`` to allow it.

    Args:
        fn (callable): What to profile.
        allowed_parents (sequence[str]): A sync op is not counted inside an
            op or ``record_function`` range of one of these names.

    Returns:
        list[str]: ``'op <- enclosing op <- ...'`` for every sync op, in
        order.
    """
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    found = []
    for event in prof.events():
        if event.name not in SYNC_OPS:
            continue
        enclosing = _enclosing(event)
        if not set(enclosing) & set(allowed_parents):
            found.append(' <- '.join([event.name] + enclosing))
    return found


def synthetic_batch(num_images=2, size=64, seed=0):
    """What ``PackDetInputs`` gives for ``num_images`` uint8 images with a
    few small boxes each and a sky map whose lower rows are ground and whose
    last rows are unlabelled (255)."""
    generator = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(num_images):
        inputs.append(
            torch.randint(
                0, 256, (3, size, size), dtype=torch.uint8,
                generator=generator))
        xy = torch.rand(4, 2, generator=generator) * (size - 8)
        wh = 2 + 4 * torch.rand(4, 2, generator=generator)
        sky = torch.zeros(1, size, size, dtype=torch.uint8)
        sky[:, :size // 2] = 1
        sky[:, -2:] = 255
        sample = DetDataSample(
            metainfo=dict(
                img_id='synthetic',
                img_shape=(size, size),
                ori_shape=(size, size),
                scale_factor=(1.0, 1.0),
                flip=False,
                flip_direction=None))
        sample.gt_instances = InstanceData(
            bboxes=HorizontalBoxes(torch.cat([xy, xy + wh], dim=1)),
            labels=torch.zeros(4, dtype=torch.long))
        sample.gt_sem_seg = PixelData(sem_seg=sky)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_bafenet_training_step_does_not_sync(monkeypatch):
    """Two steps (the first one creates the optimizer state).

    Two exceptions read host tensors only, and are no device sync:

    - mmengine's ``stack_batch`` (in the data preprocessor) compares the
      image shapes in a CPU tensor built from ``tensor.shape``
      (``padded_sizes.sum() == 0``, ``pad[idx].tolist()``);
    - on CPU, mmdet's FocalLoss one-hot encodes the labels and
      ``F.one_hot`` checks their range with ``.item()``; on CUDA, mmcv's
      focal-loss kernel runs instead and ``one_hot`` skips the check.
    """
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = synthetic_batch()
    before = [p.detach().clone() for p in model.parameters()]

    def marked_stack_batch(*args, **kwargs):
        with record_function('stack_batch'):
            return stack_batch(*args, **kwargs)

    monkeypatch.setattr(data_preprocessor, 'stack_batch', marked_stack_batch)

    def two_steps():
        for _ in range(2):
            model.train_step(batch, optim_wrapper)

    assert sync_ops(
        two_steps, allowed_parents=('aten::one_hot', 'stack_batch')) == []
    assert any(not torch.equal(a, p) for a, p in zip(before,
                                                     model.parameters()))

"""load_model_checkpoint: a checkpoint loads only into the model it covers.

The models are the real FCOS-R18 and BAFE-Net-R18 of the configs (without
ImageNet weights); the checkpoints are written the way mmengine writes them,
with the config text in ``meta['cfg']``.
"""
import logging
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint

from bafenet.registry import MODELS
from bafenet.utils import CheckpointError, load_model_checkpoint
from tests.conftest import REPO_ROOT
from tests.test_tools.test_model_converters import \
    build_ours as build_original
from tests.test_tools.test_model_converters import original_state_dict

FCOS = 'configs/fcos/fcos_r18_fpn_20e_densesirst.py'
BAFENET = 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'


def build(config, **head):
    cfg = Config.fromfile(REPO_ROOT / config)
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.update(head)
    torch.manual_seed(0)
    return MODELS.build(cfg.model), cfg


def save(path, config, **head):
    """A checkpoint as mmengine's Runner writes one (keys with the
    ``module.`` prefix of a DDP run, to check it is stripped); returns the
    weights."""
    model, cfg = build(config, **head)
    for param in model.parameters():
        param.data.uniform_()
    torch.save(
        dict(
            meta=dict(
                cfg=cfg.pretty_text,
                experiment_name=f'{cfg.filename.rsplit("/", 1)[-1][:-3]}'
                '_20250101_120000'),
            state_dict={
                f'module.{k}': v
                for k, v in model.state_dict().items()
            }), path)
    return model.state_dict()


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """FCOS-R18, BAFE-Net-R18 and BAFE-Net-R18 with a wider scorer MLP:
    ``{name: (path, state_dict)}``."""
    tmp = tmp_path_factory.mktemp('coverage')
    return {
        name: (tmp / f'{name}.pth', save(tmp / f'{name}.pth', config, **head))
        for name, config, head in (
            ('fcos', FCOS, {}), ('bafenet', BAFENET, {}),
            ('bafenet_w128', BAFENET,
             dict(exchange_cfg=dict(hidden_channels=128))))
    }


def same_weights(model, state_dict):
    return all(
        torch.equal(v, state_dict[k]) for k, v in model.state_dict().items())


def test_a_covering_checkpoint_loads_every_weight(checkpoints):
    path, trained = checkpoints['fcos']
    model, _ = build(FCOS)
    checkpoint = load_model_checkpoint(model, str(path))
    assert same_weights(model, trained)
    assert checkpoint['meta']['experiment_name'].startswith('fcos_r18')


def test_a_checkpoint_of_another_model_is_refused(checkpoints):
    path, _ = checkpoints['fcos']
    model, _ = build(BAFENET)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        load_model_checkpoint(model, str(path))
    message = str(err.value)
    assert message.startswith(f'{path} does not cover the model:')
    # BAFE-Net's segmentation branch is not in an FCOS checkpoint.
    assert 'model key(s) missing from the checkpoint: bbox_head.' in message
    assert 'bbox_head.seg_convs.0.conv.weight' in message
    assert ('trained with fcos_r18_fpn_20e_densesirst (model FCOS, backbone '
            'ResNet, neck FPN, bbox_head SyncFreeFCOSHead)') in message
    assert '--allow-partial-checkpoint' in message
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_extra_modules_are_refused(checkpoints):
    """A BAFE-Net checkpoint holds FCOS's weights and more; its FCOS part was
    trained beside the segmentation branch, so it is refused too."""
    path, _ = checkpoints['bafenet']
    model, _ = build(FCOS)
    with pytest.raises(CheckpointError,
                       match=r"checkpoint key\(s\) the model does not have: "
                       r'bbox_head\.'):
        load_model_checkpoint(model, str(path))


def test_shape_mismatches_are_named(checkpoints):
    path, _ = checkpoints['bafenet_w128']
    model, _ = build(BAFENET)
    with pytest.raises(CheckpointError) as err:
        load_model_checkpoint(model, str(path))
    message = str(err.value)
    assert 'key(s) with another shape:' in message
    assert 'missing' not in message and 'does not have' not in message
    assert '(checkpoint [128, ' in message and 'model [64, ' in message


def test_allow_partial_loads_what_fits_and_warns(checkpoints, caplog):
    path, theirs = checkpoints['fcos']
    model, _ = build(BAFENET)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    with caplog.at_level(logging.WARNING, logger='partial'):
        load_model_checkpoint(
            model,
            str(path),
            allow_partial=True,
            logger=logging.getLogger('partial'))
    warning, = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f'{path} does not cover the model:')
    assert 'loading only the keys with the same name and shape' in warning
    own = model.state_dict()
    shared = [k for k in own if k in theirs]
    only_ours = [k for k in own if k not in theirs]
    assert shared and only_ours
    assert all(torch.equal(own[k], theirs[k]) for k in shared)
    assert all(torch.equal(own[k], init[k]) for k in only_ours)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / 'tensor.pth'
    torch.save(torch.zeros(3), path)
    model, _ = build(FCOS)
    with pytest.raises(CheckpointError, match=f'{path}: not a checkpoint'):
        load_model_checkpoint(model, str(path))


@pytest.mark.parametrize('checkpoint, problem', [
    (dict(state_dict=[torch.zeros(3)], meta={}),
     "its 'state_dict' is a list, not a dict of weights"),
    (dict(state_dict={'backbone.conv1.weight': [0.0]}),
     "its 'state_dict' holds 'backbone.conv1.weight': a list, where weights "
     'are tensors'),
    ([torch.zeros(3)], 'not a checkpoint (a list, not a dict)'),
])
def test_a_checkpoint_that_is_not_one_is_named(checkpoint, problem,
                                               tmp_path):
    """Refused by the loader (load_from, --resume, tools/test.py,
    init_detector) and by load_model_checkpoint, naming the file."""
    path = tmp_path / 'odd.pth'
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError) as err:
        _load_checkpoint(str(path), map_location='cpu')
    assert str(err.value).startswith(f'{path}: not a checkpoint')
    assert problem in str(err.value)
    model, _ = build(FCOS)
    with pytest.raises(CheckpointError, match=re.escape(problem)):
        load_model_checkpoint(model, str(path))


def test_a_checkpoint_of_the_original_code_points_to_the_converter(tmp_path):
    """The original code's key layout (its head's ChannelEx, convs_cls, ...)
    is refused with the converter to use, not with the flag that would load
    it half."""
    ours = build_original('bafenet-v1_r18_fpn_20e_densesirst.py')
    state, _ = original_state_dict('v1', ours)
    path = tmp_path / 'original.pth'
    torch.save(dict(state_dict=state, meta={}), path)
    with pytest.raises(CheckpointError) as err:
        load_model_checkpoint(ours, str(path))
    message = str(err.value)
    assert message.startswith(f'{path} does not cover the model:')
    assert ('python tools/model_converters/bafenet_original_to_ours.py '
            f'{path} CONVERTED.pth') in message
    assert 'allow-partial' not in message

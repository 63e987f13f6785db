"""Loading a checkpoint into a model only when it covers the model: a
checkpoint of another model (missing, shape-mismatched or extra keys) is
refused with a :class:`~bafenet.utils.checkpoint_loading.CheckpointError`
that names the keys and the config the checkpoint was trained with, or, for
the original BAFE-Net code's key layout, the converter to run."""
import ast
import logging
import re
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

from .checkpoint_loading import (CheckpointError, checkpoint_state_dict,
                                 read_checkpoint)

#: How many keys of each kind a coverage error names.
_KEYS_SHOWN = 5


class CheckpointCoverage(NamedTuple):
    """How a checkpoint's ``state_dict`` fits a model.

    Attributes:
        missing (list[str]): Model keys the checkpoint lacks (BatchNorm's
            ``num_batches_tracked`` counters excepted, as in mmengine).
        mismatched (list[tuple[str, tuple, tuple]]): ``(key, checkpoint
            shape, model shape)`` of keys present in both with other shapes.
        unexpected (list[str]): Checkpoint keys the model does not have.
    """
    missing: List[str]
    mismatched: List[Tuple[str, tuple, tuple]]
    unexpected: List[str]

    @property
    def complete(self) -> bool:
        """Whether every model key loads and every checkpoint key is used."""
        return not (self.missing or self.mismatched or self.unexpected)


def checkpoint_coverage(model: torch.nn.Module,
                        state_dict: Dict[str, torch.Tensor]
                        ) -> CheckpointCoverage:
    """Compare a ``state_dict`` with a model's, key by key and shape by
    shape, without loading anything.

    Args:
        model (nn.Module): The model (not wrapped).
        state_dict (dict[str, Tensor]): Checkpoint weights, keys already
            stripped of a ``module.`` prefix.

    Returns:
        CheckpointCoverage: Missing, shape-mismatched and unexpected keys,
        each in the model's (or checkpoint's) order.
    """
    own = model.state_dict()
    missing = [
        key for key in own
        if key not in state_dict and not key.endswith('num_batches_tracked')
    ]
    mismatched = []
    for key, value in own.items():
        if key in state_dict:
            theirs = tuple(getattr(state_dict[key], 'shape', ()))
            if theirs != tuple(value.shape):
                mismatched.append((key, theirs, tuple(value.shape)))
    unexpected = [key for key in state_dict if key not in own]
    return CheckpointCoverage(missing, mismatched, unexpected)


def trained_config_summary(meta: Optional[dict]) -> Optional[str]:
    """What a checkpoint's ``meta`` says about the config it was trained
    with: the experiment (config file name) and the model and head types.

    mmengine writes the whole config as text (``meta['cfg']``); it is read
    with :func:`ast.parse`, never executed.

    Args:
        meta (dict, optional): The checkpoint's ``meta`` entry.

    Returns:
        str | None: E.g. ``"fcos_r18_fpn_20e_densesirst (model FCOS,
        bbox_head SyncFreeFCOSHead)"``, or None when the meta records no
        config.
    """
    if not isinstance(meta, dict):
        return None
    parts = []
    experiment = meta.get('experiment_name')
    if isinstance(experiment, str):
        # mmengine names an experiment <config name>_<YYYYmmdd_HHMMSS>.
        parts.append(re.sub(r'_\d{8}_\d{6}$', '', experiment))
    types = _model_types(meta.get('cfg'))
    if types:
        parts.append('(' + ', '.join(f'{k} {v}' for k, v in types) + ')')
    return ' '.join(parts) or None


def _model_types(cfg_text) -> List[Tuple[str, str]]:
    """``[('model', type), ('backbone', type), ...]`` from a config's text."""
    if not isinstance(cfg_text, str):
        return []
    try:
        tree = ast.parse(cfg_text)
    except SyntaxError:
        return []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], 'id', None) == 'model'
                and isinstance(node.value, ast.Call)):
            keywords = {kw.arg: kw.value for kw in node.value.keywords}
            found = [('model', _type_of(node.value))]
            for part in ('backbone', 'neck', 'bbox_head'):
                if isinstance(keywords.get(part), ast.Call):
                    found.append((part, _type_of(keywords[part])))
            return [(k, v) for k, v in found if v is not None]
    return []


def _type_of(call: ast.Call) -> Optional[str]:
    """The constant ``type=`` of a ``dict(...)`` call, if any."""
    for kw in call.keywords:
        if kw.arg == 'type' and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    return None


def coverage_report(filename: str, coverage: CheckpointCoverage,
                    meta: Optional[dict]) -> str:
    """The message for a checkpoint that does not cover the model: the
    file, the first few keys of each kind, and the trained config."""

    def first(keys):
        shown = ', '.join(keys[:_KEYS_SHOWN])
        more = len(keys) - _KEYS_SHOWN
        return shown + (f', ... ({more} more)' if more > 0 else '')

    lines = [f'{filename} does not cover the model:']
    if coverage.missing:
        lines.append(f'  {len(coverage.missing)} model key(s) missing from '
                     f'the checkpoint: {first(coverage.missing)}')
    if coverage.mismatched:
        lines.append(
            f'  {len(coverage.mismatched)} key(s) with another shape: ' +
            first([
                f'{key} (checkpoint {list(ckpt)}, model {list(mine)})'
                for key, ckpt, mine in coverage.mismatched
            ]))
    if coverage.unexpected:
        lines.append(f'  {len(coverage.unexpected)} checkpoint key(s) the '
                     f'model does not have: {first(coverage.unexpected)}')
    trained = trained_config_summary(meta)
    if trained:
        lines.append(f'  The checkpoint was trained with {trained}.')
    return '\n'.join(lines)


#: Keys only a checkpoint of the original BAFE-Net code (GrokCV/BAFE-Net,
#: ``FCOSChangerSegHead``) has: its channel-exchange MLP, static (July 2024)
#: or dynamic; ``tools/model_converters/bafenet_original_to_ours.py``
#: converts such checkpoints.
ORIGINAL_LAYOUT_KEYS = ('bbox_head.ChannelEx.mlp_exchange.fc1.weight',
                        'bbox_head.ChannelEx.mlp.fc1.weight')


def covering_state_dict(model: torch.nn.Module,
                        checkpoint: dict,
                        filename: str,
                        allow_partial: bool = False,
                        logger=None) -> 'OrderedDict[str, torch.Tensor]':
    """The weights of a loaded checkpoint that load into ``model``, once
    checked to cover it (:func:`checkpoint_coverage`).

    Args:
        model (nn.Module): The model (not wrapped).
        checkpoint (dict): The loaded checkpoint.
        filename (str): Its file, for the messages.
        allow_partial (bool): Keep the keys that fit (same name and shape)
            and warn about the rest, rather than refuse. Defaults to False.
        logger (logging.Logger | str, optional): Where the warning goes;
            mmengine's current logger when None.

    Returns:
        OrderedDict[str, Tensor]: The weights, keys stripped of a
        ``module.`` prefix, for ``model.load_state_dict(..., strict=False)``.

    Raises:
        CheckpointError: If the checkpoint is not one
            (:func:`checkpoint_state_dict`), or does not cover the model and
            ``allow_partial`` is False. A checkpoint of the original code's
            key layout is pointed to the converter.
    """
    source = checkpoint_state_dict(checkpoint, filename)
    state_dict = OrderedDict((re.sub(r'^module\.', '', key), value)
                             for key, value in source.items())
    # Module versions (BatchNorm's, for instance) travel as metadata.
    state_dict._metadata = getattr(source, '_metadata', OrderedDict())
    coverage = checkpoint_coverage(model, state_dict)
    if coverage.complete:
        return state_dict
    report = coverage_report(filename, coverage, checkpoint.get('meta'))
    if not allow_partial:
        if any(key in state_dict for key in ORIGINAL_LAYOUT_KEYS):
            raise CheckpointError(
                report + '\nThis is a checkpoint of the original BAFE-Net '
                'code (its head has bbox_head.ChannelEx): convert it with '
                f'python tools/model_converters/bafenet_original_to_ours.py '
                f'{filename} CONVERTED.pth, and use CONVERTED.pth with the '
                'config of configs/original/ for its head version (see '
                'configs/original/README.md).')
        raise CheckpointError(
            report + '\nRefusing to load a checkpoint of another model. '
            'To load the keys that fit anyway, pass allow_partial=True '
            '(--allow-partial-checkpoint in the tools).')
    print_log(
        report + '\nallow_partial is set: loading only the keys with the '
        'same name and shape; the rest of the model keeps its '
        'initialisation.',
        logger=logger or 'current',
        level=logging.WARNING)
    for key, _, _ in coverage.mismatched:
        del state_dict[key]
    for key in coverage.unexpected:
        del state_dict[key]
    return state_dict


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    """The detector inside DDP or a test-time wrapper (TiledDetector,
    DetTTAModel), which is what checkpoints hold (as mmengine's
    ``load_state_dict`` assumes)."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def load_model_checkpoint(model: torch.nn.Module,
                          filename: str,
                          map_location='cpu',
                          allow_partial: bool = False,
                          logger=None) -> dict:
    """Load a checkpoint into ``model`` only if it covers the model.

    The file is read by :func:`~bafenet.utils.checkpoint_loading.
    read_checkpoint` (local files safely, URLs and ``open-mmlab://`` names
    as in mmengine), a ``module.`` prefix is stripped from its keys, and its
    weights are compared with the model's (:func:`covering_state_dict`).
    A model key the checkpoint lacks, a key whose shape differs, or a
    checkpoint key the model does not have all mean the checkpoint is of
    another model; evaluating it anyway would report figures of a partly
    random model, so it is refused unless ``allow_partial``. Extra keys are
    refused too: a checkpoint with more modules (BAFE-Net's segmentation
    branch loaded into plain FCOS) was trained with them, and its other
    weights depend on them.

    Args:
        model (nn.Module): The model, possibly wrapped (DDP, a test-time
            wrapper).
        filename (str): Checkpoint path or URL.
        map_location (str | callable): As for ``torch.load``.
            Defaults to ``'cpu'``.
        allow_partial (bool): Load the keys that fit (same name and shape),
            warn about the rest, and go on. Defaults to False.
        logger (logging.Logger | str, optional): Where the warning goes;
            mmengine's current logger when None.

    Returns:
        dict: The checkpoint (``state_dict``, ``meta``, ...), as
        ``mmengine.runner.load_checkpoint`` returns it.

    Raises:
        CheckpointError: If the checkpoint does not cover the model and
            ``allow_partial`` is False, or if the file cannot be loaded
            safely; the message names the file.
    """
    model = unwrapped(model)
    checkpoint = read_checkpoint(filename, map_location=map_location)
    state_dict = covering_state_dict(model, checkpoint, filename,
                                     allow_partial, logger)
    model.load_state_dict(state_dict, strict=False)
    return checkpoint



"""Safe and checked loading of mmengine checkpoints.

Since torch 2.6, ``torch.load`` unpickles only tensors, containers and
primitive types unless told otherwise, and mmengine 0.10.7 checkpoints also
hold its ``HistoryBuffer`` (the logged scalars of the message hub), numpy
arrays, scalars and dtypes, and the buffer's statistics methods, pickled as
``getattr(HistoryBuffer, 'mean')`` and so on. Rather than switching safe
loading off, this module allow-lists exactly those types, and maps
``builtins.getattr`` to :func:`history_buffer_method`, which resolves only
those methods. Every other pickled object in a checkpoint is still refused.

mmengine's loader of local files (used by ``load_from``, ``--resume``,
``tools/test.py`` and ``init_detector``) is replaced by
:func:`load_checkpoint_file`, which passes ``weights_only=True`` explicitly
and turns a truncated file or a refused object into a
:class:`CheckpointError` naming the file, as is a file that is not a
checkpoint (:func:`checkpoint_state_dict`: a list, or a ``state_dict`` that
is not a dict of tensors); :func:`find_resumable_checkpoint` finds the
newest complete checkpoint of a work directory, where the directory is now
(moved or copied). Importing this
module installs the loader and registers the allow-list together, so safe
loading holds however the package is entered (``register_all_modules``, a
config's ``custom_imports``, or ``import bafenet.utils``).

:func:`load_model_checkpoint` loads a checkpoint into a model only when it
covers the model: a checkpoint of another model (missing, shape-mismatched or
extra keys) is refused with a :class:`CheckpointError` that names the keys
and the config the checkpoint was trained with, or, for the original
BAFE-Net code's key layout, the converter to run.
:func:`check_resume_checkpoint` applies the same check before ``--resume``.
"""
import ast
import glob
import logging
import os.path as osp
import pickle
import re
import warnings
import zipfile
from collections import OrderedDict
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

# numpy 2 moved ``numpy.core`` to ``numpy._core``; checkpoints written under
# numpy 1 name the old module.
_multiarray = np._core.multiarray

#: The numpy dtypes whose arrays or scalars mmengine writes (the logged values).
_DTYPES = (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
           np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)


#: The statistics methods a HistoryBuffer pickles by reference.
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_method(owner, name: str):
    """``getattr`` as mmengine checkpoints use it, and nothing more.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({owner!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods are allowed')


def checkpoint_safe_globals() -> List:
    """What an mmengine checkpoint contains beyond torch's own safe types.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: objects,
        or ``(object, 'qualified.name')`` pairs for names under which older
        checkpoints refer to the same object.
    """
    entries = [
        HistoryBuffer, np.ndarray, np.dtype,
        (history_buffer_method, 'builtins.getattr')
    ]
    for func in (_multiarray._reconstruct, _multiarray.scalar):
        entries.append(func)
        entries.append((func, f'numpy.core.multiarray.{func.__name__}'))
    entries.extend(type(np.dtype(t)) for t in _DTYPES)
    return entries


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded: truncated, corrupt, or
    holding objects outside the allow-list."""


def load_checkpoint_file(filename: str, map_location=None) -> dict:
    """``torch.load(filename, weights_only=True)`` with clear errors.

    Args:
        filename (str): A local checkpoint file.
        map_location (str | callable, optional): As for ``torch.load``.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointError: If the file is truncated or corrupt (for example
            written by a run killed while saving), or holds a pickled object
            that is not allow-listed; the message names the file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename}: no such checkpoint file')
    try:
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'{filename}: refused to load: the checkpoint holds a pickled '
            'object outside the allow-list of bafenet.utils.checkpoint, '
            'which could run code. Load only checkpoints you trust, and '
            f'only their tensors.\n{err}') from err
    except (RuntimeError, EOFError) as err:
        size = osp.getsize(filename)
        raise CheckpointError(
            f'{filename}: truncated or corrupt checkpoint ({size} bytes; was '
            f'the run killed while saving it?): {err}') from err
    checkpoint_state_dict(checkpoint, filename)
    return checkpoint


def checkpoint_state_dict(checkpoint, filename: str) -> Mapping:
    """The weights of a loaded checkpoint, checked to be weights.

    Args:
        checkpoint: What the file unpickled to: an mmengine checkpoint (a
            dict with ``state_dict``) or a bare state dict.
        filename (str): The file, for the messages.

    Returns:
        Mapping[str, Tensor]: ``checkpoint['state_dict']``, else the
        checkpoint itself.

    Raises:
        CheckpointError: If the checkpoint is not a dict, or its weights are
            not a mapping of names to tensors; the message names the file
            and what was found instead.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{filename}: not a checkpoint (a '
                              f'{type(checkpoint).__name__}, not a dict)')
    where = "its 'state_dict'" if 'state_dict' in checkpoint else 'it'
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(
            f'{filename}: not a checkpoint: {where} is a '
            f'{type(state_dict).__name__}, not a dict of weights (name -> '
            'tensor)')
    for key, value in state_dict.items():
        if not (isinstance(key, str) and isinstance(value, torch.Tensor)):
            raise CheckpointError(
                f'{filename}: not a checkpoint: {where} holds {key!r}: a '
                f'{type(value).__name__}, where weights are tensors named '
                'by strings')
    return state_dict


def check_checkpoint_complete(filename: str) -> None:
    """Check, without loading it, that a checkpoint was written to the end.

    ``torch.save`` writes a zip archive whose directory comes last, so a file
    cut short (a run killed while saving) has none: the check reads only the
    end of the file. A file without a zip directory (cut short, or in torch's
    legacy format) is loaded to tell which.

    Args:
        filename (str): A local checkpoint file.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointError: If the file is truncated or corrupt, as from
            :func:`load_checkpoint_file`.
    """
    if not (osp.isfile(filename) and zipfile.is_zipfile(filename)):
        load_checkpoint_file(filename, map_location='cpu')


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest complete checkpoint of a work directory, for
    ``--resume``.

    ``work_dir/last_checkpoint`` holds the path the run wrote its latest
    checkpoint to, which is out of date once the work directory is moved or
    copied. So the file of that name in ``work_dir`` is the first candidate;
    the path as written only when ``work_dir`` has no such file (checkpoints
    saved elsewhere, with the ``CheckpointHook``'s ``out_dir``), with a
    warning that it lies outside ``work_dir``. Then come the other
    ``epoch_*.pth`` and ``iter_*.pth`` files of ``work_dir`` (and of that
    outside folder), the highest epoch or iteration first. A candidate that
    was not written to the end (:func:`check_checkpoint_complete`) is skipped
    with a warning naming it; ``best_*.pth`` files are not candidates (they
    hold no optimizer state).

    Args:
        work_dir (str): The work directory of the run.

    Returns:
        str | None: The checkpoint to resume from, or None if the work
        directory has no checkpoint (the run starts from scratch).

    Raises:
        CheckpointError: If there are checkpoints but none loads.
    """
    last = _last_checkpoint(work_dir)
    folders = [work_dir]
    if last and not osp.samefile(osp.dirname(last) or '.', work_dir):
        folders.append(osp.dirname(last))
    others = [
        path for folder in folders for pattern in ('epoch_*.pth', 'iter_*.pth')
        for path in glob.glob(osp.join(folder, pattern)) if path != last
    ]
    candidates = [last] if last else []
    candidates += sorted(others, key=_checkpoint_order, reverse=True)
    for candidate in candidates:
        try:
            check_checkpoint_complete(candidate)
        except (CheckpointError, FileNotFoundError) as err:
            warnings.warn(f'not resuming from {candidate}: {err}')
            continue
        return candidate
    if candidates:
        raise CheckpointError(
            f'no checkpoint of {work_dir} is complete (tried '
            f'{", ".join(candidates)}); delete the broken files and resume '
            'from an earlier run with --resume PATH, or train from scratch '
            'without --resume')
    return None


def _last_checkpoint(work_dir: str) -> Optional[str]:
    """The file ``work_dir/last_checkpoint`` names, found in ``work_dir``
    first (see :func:`find_resumable_checkpoint`); None without one."""
    last_file = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last_file):
        return None
    with open(last_file) as f:
        written = f.read().strip()
    if not written:
        return None
    here = osp.join(work_dir, osp.basename(written))
    if osp.isfile(here) or not osp.isfile(written):
        return here
    warnings.warn(f'{last_file} names {written}, outside the work '
                  f'directory {work_dir}, which has no {osp.basename(written)}'
                  ': resuming from there')
    return written


def _checkpoint_order(path: str) -> Tuple[int, float]:
    """Sort key of ``epoch_<n>.pth`` / ``iter_<n>.pth``: ``n``, then the
    modification time (a copied folder's times follow the copy's order)."""
    match = re.search(r'_(\d+)\.pth$', path)
    return (int(match.group(1)) if match else -1, osp.getmtime(path))


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None) -> dict:
    """mmengine's loader of local files (the scheme without a prefix),
    replaced by :func:`load_checkpoint_file`; mmengine logs it as the
    ``local`` backend."""
    return load_checkpoint_file(filename, map_location)


def register_checkpoint_safe_globals() -> None:
    """Allow-list mmengine checkpoint contents for safe ``torch.load``.

    Called when this module is imported; calling it again is harmless.
    """
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


register_checkpoint_safe_globals()

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


def _unwrapped(model: torch.nn.Module) -> torch.nn.Module:
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

    The file is read through mmengine's loaders (so local files go through
    the safe loader of this module; URLs and ``open-mmlab://`` names work as
    in mmengine), a ``module.`` prefix is stripped from its keys, and its
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
    model = _unwrapped(model)
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    state_dict = covering_state_dict(model, checkpoint, filename,
                                     allow_partial, logger)
    model.load_state_dict(state_dict, strict=False)
    return checkpoint


def check_resume_checkpoint(model: torch.nn.Module,
                            filename: str,
                            allow_partial: bool = False,
                            logger=None) -> None:
    """Check, before mmengine resumes from it, that a checkpoint covers
    ``model``.

    mmengine's ``Runner.resume`` loads the weights with ``strict=False``:
    a checkpoint of another model (half the head missing, another
    detector) would train on from partly random weights with only a
    warning. This applies :func:`covering_state_dict`'s check to it first.

    Args:
        model (nn.Module): The runner's model, possibly wrapped.
        filename (str): The checkpoint ``--resume`` names.
        allow_partial (bool): Warn instead of refusing. Defaults to False.
        logger (logging.Logger | str, optional): Where the warning goes.

    Raises:
        CheckpointError: As :func:`load_model_checkpoint`.
    """
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    covering_state_dict(
        _unwrapped(model), checkpoint, filename, allow_partial, logger)

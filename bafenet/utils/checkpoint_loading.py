"""Safe loading of mmengine checkpoints.

Since torch 2.6, ``torch.load`` unpickles only tensors, containers and
primitive types unless told otherwise, and mmengine 0.10.7 checkpoints also
hold its ``HistoryBuffer`` (the logged scalars of the message hub), numpy
arrays, scalars and dtypes, and the buffer's statistics methods, pickled as
``getattr(HistoryBuffer, 'mean')`` and so on. Rather than switching safe
loading off, this module allow-lists exactly those types, and maps
``builtins.getattr`` to :func:`history_buffer_method`, which resolves only
those methods. Every other pickled object in a checkpoint is still refused.

:func:`install_safe_loading` replaces mmengine's loader of local files (used
by ``load_from``, ``--resume``, ``tools/test.py`` and ``init_detector``) by
:func:`load_checkpoint_file`, which passes ``weights_only=True`` explicitly
and turns a truncated file or a refused object into a
:class:`CheckpointError` naming the file, as is a file that is not a
checkpoint (:func:`checkpoint_state_dict`: a list, or a ``state_dict`` that
is not a dict of tensors), and registers the allow-list. It is called from
two places: ``register_all_modules`` and :mod:`bafenet.utils.safe_loading`,
which the default runtime's ``custom_imports`` names (so that mmdet's and
mim's tools load checkpoints of our configs safely too). Importing this
module changes nothing.
"""
import os.path as osp
import pickle
from typing import List, Mapping

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
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
            'object outside the allow-list of '
            'bafenet.utils.checkpoint_loading, which could run code. Load '
            'only checkpoints you trust, and '
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


def load_from_local(filename: str, map_location=None) -> dict:
    """mmengine's loader of local files (the scheme without a prefix), once
    :func:`install_safe_loading` has replaced it: :func:`load_checkpoint_file`;
    mmengine logs it as the ``local`` backend."""
    return load_checkpoint_file(filename, map_location)


def install_safe_loading() -> None:
    """Load local checkpoints with :func:`load_checkpoint_file` and
    allow-list mmengine checkpoint contents for safe ``torch.load``.
    Calling it again is harmless."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


def read_checkpoint(filename: str, map_location=None) -> dict:
    """A checkpoint file or URL, local files always through
    :func:`load_checkpoint_file` (whether or not
    :func:`install_safe_loading` has run), URLs and ``open-mmlab://`` names
    through mmengine's loaders (``torch.load`` with its safe default).

    Args:
        filename (str): Checkpoint path or URL.
        map_location (str | callable, optional): As for ``torch.load``.

    Returns:
        dict: The checkpoint.
    """
    if osp.isfile(osp.expanduser(filename)):
        return load_checkpoint_file(filename, map_location)
    return _load_checkpoint(filename, map_location=map_location)

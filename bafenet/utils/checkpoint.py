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
:class:`CheckpointError` naming the file; :func:`find_resumable_checkpoint`
finds the newest complete checkpoint of a work directory.
"""
import glob
import os.path as osp
import pickle
import warnings
import zipfile
from typing import List, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

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
        return torch.load(
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

    The candidates are the file named in ``work_dir/last_checkpoint``, then
    the other ``epoch_*.pth`` and ``iter_*.pth`` files of its folder, newest
    first. A candidate that was not written to the end
    (:func:`check_checkpoint_complete`) is skipped with a warning naming
    it; ``best_*.pth`` files are not candidates (they hold no optimizer
    state).

    Args:
        work_dir (str): The work directory of the run.

    Returns:
        str | None: The checkpoint to resume from, or None if the work
        directory has no checkpoint (the run starts from scratch).

    Raises:
        CheckpointError: If there are checkpoints but none loads.
    """
    last_file = osp.join(work_dir, 'last_checkpoint')
    last = None
    if osp.isfile(last_file):
        with open(last_file) as f:
            last = f.read().strip() or None
    folder = osp.dirname(last) if last else work_dir
    others = glob.glob(osp.join(folder, 'epoch_*.pth')) + glob.glob(
        osp.join(folder, 'iter_*.pth'))
    candidates = [last] if last else []
    candidates += sorted(
        (p for p in others if p != last), key=osp.getmtime, reverse=True)
    for candidate in candidates:
        try:
            check_checkpoint_complete(candidate)
        except (CheckpointError, FileNotFoundError) as err:
            warnings.warn(f'not resuming from {candidate}: {err}')
            continue
        return candidate
    if candidates:
        raise CheckpointError(
            f'no checkpoint of {folder} is complete (tried '
            f'{", ".join(candidates)}); delete the broken files and resume '
            'from an earlier run with --resume PATH, or train from scratch '
            'without --resume')
    return None


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None) -> dict:
    """mmengine's loader of local files (the scheme without a prefix),
    replaced by :func:`load_checkpoint_file`; mmengine logs it as the
    ``local`` backend."""
    return load_checkpoint_file(filename, map_location)


def register_checkpoint_safe_globals() -> None:
    """Allow-list mmengine checkpoint contents for safe ``torch.load``."""
    torch.serialization.add_safe_globals(checkpoint_safe_globals())

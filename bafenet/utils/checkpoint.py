"""Safe loading of mmengine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` unpickles only tensors, containers and
primitive types unless told otherwise, and mmengine 0.10.7 checkpoints also
hold its ``HistoryBuffer`` (the logged scalars of the message hub), numpy
arrays, scalars and dtypes, and the buffer's statistics methods, pickled as
``getattr(HistoryBuffer, 'mean')`` and so on. Rather than switching safe
loading off, this module allow-lists exactly those types, and maps
``builtins.getattr`` to :func:`history_buffer_method`, which resolves only
those methods. Every other pickled object in a checkpoint is still refused.
"""
import pickle
from typing import List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

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


def register_checkpoint_safe_globals() -> None:
    """Allow-list mmengine checkpoint contents for safe ``torch.load``."""
    torch.serialization.add_safe_globals(checkpoint_safe_globals())

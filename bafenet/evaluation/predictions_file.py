"""Read the predictions file of ``tools/test.py --out`` without running code.

mmdet's ``DumpDetResults`` (and :class:`DumpSkyDetResults`) write the
predictions with ``pickle`` (protocol 2, through ``mmengine.dump``), and
plain unpickling calls whatever the file names: a predictions file someone
sends would run their code. :func:`load_predictions` unpickles with
:class:`PredictionsUnpickler`, which resolves only what such a file holds:

- containers and scalars (pickle's own opcodes), ``set``/``frozenset``,
  and ``bytes`` as protocol 2 writes them (``_codecs.encode(text,
  'latin1')``);
- torch tensors: ``torch._utils._rebuild_tensor_v2``, ``torch.Size``,
  ``collections.OrderedDict`` (the tensor's hooks), and each storage's
  bytes (``torch.storage._load_from_bytes``), which are themselves loaded
  with ``torch.load(weights_only=True)``;
- numpy arrays, scalars and dtypes (``homography_matrix``, for instance),
  under the numpy 1 and numpy 2 module names.

Any other global is refused with a :class:`PredictionsFileError` naming the
file and the global, before anything of it runs. JSON and YAML results are
not read: they cannot hold the tensors the metrics take, and mmengine's YAML
loader builds arbitrary Python objects.
"""
import codecs
import collections
import io
import os
import os.path as osp
import pickle
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch

# numpy 2 moved ``numpy.core`` to ``numpy._core``; files written under
# numpy 1 name the old module.
_multiarray = np._core.multiarray

#: The file suffixes of ``tools/test.py --out``.
PREDICTION_SUFFIXES = ('.pkl', '.pickle')


class PredictionsFileError(ValueError):
    """A predictions file that is refused: not a pickle of predictions, or
    holding objects ``tools/test.py --out`` never writes."""


class RefusedGlobal(pickle.UnpicklingError):
    """Raised while unpickling, before a refused object is called."""


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as pickle protocol 2 uses it for ``bytes``."""
    if encoding != 'latin1':
        raise RefusedGlobal(
            f'it calls _codecs.encode(..., {encoding!r}), where protocol 2 '
            "writes bytes with 'latin1' only")
    return codecs.encode(text, 'latin1')


def _empty_bytes() -> bytes:
    """``bytes()`` as pickle protocol 2 writes ``b''``."""
    return b''


def _storage_from_bytes(data: bytes):
    """``torch.storage._load_from_bytes`` (the storage of a pickled tensor,
    saved with ``torch.save``), loaded with ``weights_only=True``."""
    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except pickle.UnpicklingError as err:
        raise RefusedGlobal(
            f'a tensor storage in it was refused: {err}') from err


def _allowed_globals() -> Dict[Tuple[str, str], Callable]:
    """``(module, name)`` -> the object :class:`PredictionsUnpickler` gives
    for it."""
    allowed = {
        ('builtins', 'set'): set,
        ('builtins', 'frozenset'): frozenset,
        ('builtins', 'bytes'): _empty_bytes,
        ('_codecs', 'encode'): _latin1_bytes,
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('torch._utils', '_rebuild_tensor_v2'):
        torch._utils._rebuild_tensor_v2,
        ('torch', 'Size'): torch.Size,
        ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
    }
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(module, '_reconstruct')] = _multiarray._reconstruct
        allowed[(module, 'scalar')] = _multiarray.scalar
    return allowed


class PredictionsUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of
    :func:`_allowed_globals`; any other raises :class:`RefusedGlobal`
    naming it."""

    _ALLOWED = _allowed_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f'it names the global {module}.{name}, which tools/test.py '
                '--out never writes') from None


def load_predictions(path: str) -> List[dict]:
    """The predictions ``tools/test.py --out`` wrote to ``path``.

    Args:
        path (str | os.PathLike): The ``.pkl`` file.

    Returns:
        list[dict]: One dict per image, with ``img_path`` (str) and
        ``pred_instances`` (``bboxes`` (N, 4), ``scores`` (N,) and
        ``labels`` (N,) tensors), and the other fields the dump kept.

    Raises:
        FileNotFoundError: If there is no such file.
        PredictionsFileError: If the file is not a ``.pkl``/``.pickle``, is
            not a pickle, names a global outside the allow-list (which could
            run code: nothing of the file has run), or does not hold a list
            of predictions; the message names the file and the problem.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such predictions file')
    if not path.endswith(PREDICTION_SUFFIXES):
        raise PredictionsFileError(
            f'{path}: not a predictions file of tools/test.py --out (a '
            f'{"/".join(PREDICTION_SUFFIXES)} pickle); other formats are '
            'refused: JSON and YAML cannot hold the tensors the metrics '
            'take, and YAML can build Python objects')
    with open(path, 'rb') as f:
        try:
            predictions = PredictionsUnpickler(f).load()
        except RefusedGlobal as err:
            raise PredictionsFileError(
                f'{path}: refused to load: {err}. A predictions file of '
                'tools/test.py --out holds only containers, numbers, '
                'strings, tensors and numpy arrays; anything else could run '
                'code, so nothing of this file was run') from err
        except Exception as err:  # a truncated or foreign file
            raise PredictionsFileError(
                f'{path}: not a readable pickle ({type(err).__name__}: '
                f'{err})') from err
    _check_predictions(predictions, path)
    return predictions


def _check_predictions(predictions, path: str) -> None:
    """Raise :class:`PredictionsFileError` unless ``predictions`` is a list
    of dicts with ``img_path`` and tensor ``pred_instances``."""
    if not isinstance(predictions, list):
        raise PredictionsFileError(
            f'{path}: holds a {type(predictions).__name__}, not the list of '
            'per-image predictions tools/test.py --out writes')
    for index, pred in enumerate(predictions):
        where = f'{path}: prediction {index}'
        if not isinstance(pred, dict):
            raise PredictionsFileError(
                f'{where} is a {type(pred).__name__}, not a dict')
        if not isinstance(pred.get('img_path'), str):
            raise PredictionsFileError(f'{where} has no img_path')
        instances = pred.get('pred_instances')
        if not isinstance(instances, dict):
            raise PredictionsFileError(
                f'{where} ({pred["img_path"]}) has no pred_instances')
        for key in ('bboxes', 'scores', 'labels'):
            if not isinstance(instances.get(key), torch.Tensor):
                raise PredictionsFileError(
                    f'{where} ({pred["img_path"]}): pred_instances.{key} is '
                    f'a {type(instances.get(key)).__name__}, not a tensor')

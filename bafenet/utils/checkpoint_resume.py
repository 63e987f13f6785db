"""Resuming a run: the newest complete checkpoint of a work directory, and
the check that it covers the model before mmengine resumes from it."""
import glob
import os.path as osp
import re
import warnings
import zipfile
from typing import Optional, Tuple

import torch

from .checkpoint_coverage import covering_state_dict, unwrapped
from .checkpoint_loading import (CheckpointError, load_checkpoint_file,
                                 read_checkpoint)


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
    checkpoint = read_checkpoint(filename, map_location='cpu')
    covering_state_dict(
        unwrapped(model), checkpoint, filename, allow_partial, logger)

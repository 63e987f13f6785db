"""Loss and metric curves, and training speed, from MMEngine scalar logs.

    python tools/analysis_tools/analyze_logs.py plot_curve RUN [RUN ...] \
        --out curves.png [--keys loss voc07/mAP] [--legend A B] [--title T] \
        [--x-axis minutes]
    python tools/analysis_tools/analyze_logs.py cal_train_time RUN [RUN ...]

A RUN is a work directory (every ``<timestamp>/vis_data/scalars.json``
directly under it is read in timestamp order, so a resumed run is one
curve), one ``<timestamp>`` folder, or a ``scalars.json`` file: the output
of MMEngine's ``LocalVisBackend``, one JSON object per line. Lines with an
``iter`` entry are training records (losses, learning rate, time), plotted
against the iteration; the other lines are evaluation records (any metric
key, e.g. ``voc07/mAP``, ``mAP07``, ``F1``, ``sky_mIoU``), plotted against
their ``step``: the epoch in epoch-based training, else the iteration.

``plot_curve`` draws one panel per key with one line per run. Without
``--keys`` it draws ``loss`` and every evaluation key except ``time`` and
``data_time``. With ``--x-axis minutes`` the x axis is wall-clock minutes
since the run started (the segments of a resumed run added up): the time
stamps of the text log ``<timestamp>/<timestamp>.log`` beside each
``vis_data`` folder, whose ``(train)`` and final ``(val)`` lines are the
records of ``scalars.json`` in the same order. ``cal_train_time`` prints
the mean time per training iteration and, for epoch-based runs, the
slowest and fastest epoch.
"""
import argparse
import glob
import json
import os.path as osp
import re
from datetime import datetime

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

#: Evaluation keys that are timings, not metrics.
TIMING_KEYS = ('time', 'data_time')

#: A text log line of a training record or of an evaluation (whose
#: progress lines carry an ``eta``, its final line not): its time stamp and
#: its kind.
RECORD_LINE = re.compile(r'^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) - mmengine - '
                         r'INFO - (?:Epoch|Iter)\((train|val)\)')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='curves of keys over training')
    plot.add_argument('runs', nargs='+', help='work dirs or scalars.json')
    plot.add_argument('--out', required=True, help='the PNG to write')
    plot.add_argument('--keys', nargs='+', help='keys to plot')
    plot.add_argument('--legend', nargs='+', help='one name per run')
    plot.add_argument('--title', help='figure title')
    plot.add_argument(
        '--x-axis',
        choices=('step', 'minutes'),
        default='step',
        help='iteration/epoch (default) or wall-clock minutes of training')
    speed = sub.add_parser('cal_train_time', help='time per iteration')
    speed.add_argument('runs', nargs='+', help='work dirs or scalars.json')
    return parser.parse_args()


def scalar_files(run: str) -> list:
    """The ``scalars.json`` files of a run, oldest first.

    Args:
        run (str): A work dir, a ``<timestamp>`` folder or a scalars file.

    Raises:
        FileNotFoundError: If the path holds no scalars file.
    """
    if osp.isfile(run):
        return [run]
    own = osp.join(run, 'vis_data', 'scalars.json')
    if osp.isfile(own):
        return [own]
    files = sorted(glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{run}: no scalars.json (looked for {own} and '
            f'{osp.join(run, "*", "vis_data", "scalars.json")})')
    return files


def load_run(run: str) -> dict:
    """The training and evaluation records of one run.

    Args:
        run (str): A work dir, a ``<timestamp>`` folder or a scalars file.

    Returns:
        dict: ``train`` and ``val``, lists of dicts in file order, and
        ``by_epoch`` (whether the training records have an ``epoch``).

    Raises:
        ValueError: If a line is not a JSON object (file and line named).
    """
    train, val = [], []
    for path in scalar_files(run):
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(
                        f'{path}:{number}: not a JSON line ({err})') from err
                if not isinstance(record, dict):
                    raise ValueError(f'{path}:{number}: not a JSON object')
                (train if 'iter' in record else val).append(record)
    return dict(train=train,
                val=val,
                by_epoch=any('epoch' in r for r in train),
                files=scalar_files(run))


def record_minutes(log: dict) -> tuple:
    """Wall-clock minutes since the start of training of every record.

    Args:
        log (dict): The output of :func:`load_run`.

    Returns:
        tuple[list[float], list[float]]: The minutes of the training and of
        the evaluation records, in their order. Each segment of a resumed
        run starts where the previous one ended.

    Raises:
        FileNotFoundError: If a segment has no text log.
        ValueError: If a text log and its ``scalars.json`` disagree in
            their number of records (both named).
    """
    train, val, elapsed = [], [], 0.
    for path in log['files']:
        folder = osp.dirname(osp.dirname(path))
        text_log = osp.join(folder, osp.basename(folder) + '.log')
        if not osp.isfile(text_log):
            raise FileNotFoundError(
                f'{text_log}: no text log beside {path}, which --x-axis '
                'minutes needs for its time stamps')
        with open(text_log) as f:
            lines = f.readlines()
        start = _stamp(lines[0][:19]) if lines else None
        minutes = dict(train=[], val=[])
        for line in lines:
            match = RECORD_LINE.match(line)
            if match and not (match[2] == 'val' and ' eta: ' in line):
                minutes[match[2]].append(
                    elapsed + (_stamp(match[1]) - start).total_seconds() / 60)
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        counts = (sum('iter' in r for r in records),
                  sum('iter' not in r for r in records))
        if counts != (len(minutes['train']), len(minutes['val'])):
            raise ValueError(
                f'{text_log} has {len(minutes["train"])} training and '
                f'{len(minutes["val"])} evaluation lines, {path} '
                f'{counts[0]} and {counts[1]} records')
        train += minutes['train']
        val += minutes['val']
        elapsed = max(train + val, default=elapsed)
    return train, val


def _stamp(text: str) -> datetime:
    """The time of an MMEngine log stamp ``YYYY/MM/DD HH:MM:SS``."""
    return datetime.strptime(text, '%Y/%m/%d %H:%M:%S')


def curve(log: dict, key: str, x_axis: str = 'step') -> tuple:
    """The values of ``key`` and their x coordinates.

    Args:
        log (dict): The output of :func:`load_run`.
        key (str): A key of the training or of the evaluation records.
        x_axis (str): ``'step'``: the iteration of a training record, the
            ``step`` (epoch or iteration) of an evaluation record;
            ``'minutes'``: :func:`record_minutes`. Defaults to ``'step'``.

    Returns:
        tuple: ``(x, y, x_label)``; ``x`` and ``y`` are (N,) arrays.

    Raises:
        KeyError: If no record has the key (the known keys are listed).
    """
    minutes = record_minutes(log) if x_axis == 'minutes' else None
    for kind in ('train', 'val'):
        records = log[kind]
        have = [i for i, r in enumerate(records) if key in r]
        if not have:
            continue
        y = np.array([records[i][key] for i in have], dtype=float)
        if minutes is not None:
            return np.array([minutes[kind == 'val'][i]
                             for i in have]), y, 'minutes'
        if kind == 'train':
            return np.array([records[i]['iter'] for i in have]), y, 'iter'
        return (np.array([records[i]['step'] for i in have]), y,
                'epoch' if log['by_epoch'] else 'iter')
    known = sorted({k for r in log['train'] + log['val'] for k in r})
    raise KeyError(f'{key!r} is in no record; known keys: '
                   f'{", ".join(known)}')


def default_keys(logs: list) -> list:
    """``loss`` (if logged) and every evaluation key but the timings."""
    keys = []
    if any('loss' in r for log in logs for r in log['train']):
        keys.append('loss')
    for log in logs:
        for record in log['val']:
            for key in record:
                if key not in TIMING_KEYS + ('step', ) and key not in keys:
                    keys.append(key)
    return keys


def plot_curves(logs: list,
                names: list,
                keys: list,
                out_file: str,
                title: str = None,
                x_axis: str = 'step') -> None:
    """One panel per key, one line per run, written to ``out_file``, against
    ``x_axis`` (see :func:`curve`).

    Raises:
        KeyError: If a run lacks a key (the run is named).
    """
    fig, axes = plt.subplots(len(keys),
                             1,
                             figsize=(8, 3.2 * len(keys)),
                             squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for log, name in zip(logs, names):
            try:
                x, y, x_label = curve(log, key, x_axis)
            except KeyError as err:
                raise KeyError(f'{name}: {err.args[0]}') from err
            ax.plot(x,
                    y,
                    marker='o' if len(x) < 30 else None,
                    markersize=3,
                    label=name)
        ax.set_xlabel(x_label)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def train_time(log: dict) -> dict:
    """Mean seconds per training iteration, and per epoch if epoch-based.

    Raises:
        KeyError: If the training records have no ``time``.
    """
    records = [r for r in log['train'] if 'time' in r]
    if not records:
        raise KeyError('no training record has a "time" entry')
    times = np.array([r['time'] for r in records])
    result = dict(mean=float(times.mean()), records=len(records))
    if log['by_epoch']:
        epochs = np.array([r['epoch'] for r in records])
        per_epoch = {
            int(e): float(times[epochs == e].mean())
            for e in np.unique(epochs)
        }
        slow = max(per_epoch, key=per_epoch.get)
        fast = min(per_epoch, key=per_epoch.get)
        result.update(slowest=(slow, per_epoch[slow]),
                      fastest=(fast, per_epoch[fast]),
                      epoch_std=float(np.std(list(per_epoch.values()))))
    return result


def main():
    args = parse_args()
    logs = [load_run(run) for run in args.runs]
    if args.task == 'cal_train_time':
        for run, log in zip(args.runs, logs):
            t = train_time(log)
            print(f'{run}: {t["mean"]:.4f} s/iter over {t["records"]} '
                  'logged iterations')
            if 'slowest' in t:
                print(f'  slowest epoch {t["slowest"][0]}: '
                      f'{t["slowest"][1]:.4f} s/iter, fastest epoch '
                      f'{t["fastest"][0]}: {t["fastest"][1]:.4f} s/iter, '
                      f'std over epochs {t["epoch_std"]:.4f}')
        return
    names = args.legend or [osp.basename(osp.normpath(r)) for r in args.runs]
    if len(names) != len(logs):
        raise ValueError(f'{len(names)} legend names for {len(logs)} runs')
    keys = args.keys or default_keys(logs)
    if not keys:
        raise ValueError('no keys to plot: give --keys')
    plot_curves(logs, names, keys, args.out, args.title, args.x_axis)
    print(f'wrote {args.out}: {", ".join(keys)} for {", ".join(names)}')


if __name__ == '__main__':
    main()

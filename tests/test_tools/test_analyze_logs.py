"""analyze_logs.py on scalar logs in MMEngine's LocalVisBackend format: a
resumed run is one curve, metric keys are generic, errors name the key."""
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test import run_tool

TOOL = REPO_ROOT / 'tools/analysis_tools/analyze_logs.py'


def write_scalars(folder, records):
    folder.mkdir(parents=True)
    with open(folder / 'scalars.json', 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def train_record(epoch, iteration, loss, time):
    return dict(lr=0.01,
                loss=loss,
                loss_cls=loss / 2,
                time=time,
                data_time=0.01,
                epoch=epoch,
                iter=iteration,
                step=iteration)


def make_run(root, name, offset):
    """Two epochs of 4 logged iterations, resumed after the first epoch
    (two timestamp folders), with voc07/mAP and F1 after each epoch."""
    work_dir = root / name
    first = [
        train_record(1, i, 2.0 - 0.1 * i + offset, 0.5) for i in range(1, 5)
    ]
    first.append({
        'voc07/mAP': 0.1 + offset,
        'F1': 0.2,
        'time': 0.1,
        'data_time': 0.01,
        'step': 1
    })
    second = [
        train_record(2, i, 2.0 - 0.1 * i + offset, 0.25) for i in range(5, 9)
    ]
    second.append({
        'voc07/mAP': 0.3 + offset,
        'F1': 0.4,
        'time': 0.1,
        'data_time': 0.01,
        'step': 2
    })
    write_scalars(work_dir / '20260101_000000' / 'vis_data', first)
    write_scalars(work_dir / '20260102_000000' / 'vis_data', second)
    (work_dir / 'epoch_2.pth').write_bytes(b'')
    return work_dir


def test_plot_curve_two_runs(tmp_path):
    runs = [make_run(tmp_path, 'a', 0.0), make_run(tmp_path, 'b', 0.05)]
    out = tmp_path / 'curves.png'
    text = run_tool(TOOL, 'plot_curve', *runs, '--keys', 'loss', 'voc07/mAP',
                    'F1', '--out', out, '--legend', 'run A', 'run B')
    assert 'loss, voc07/mAP, F1 for run A, run B' in text
    with Image.open(out) as png:
        pixels = np.asarray(png.convert('RGB'))
    # three panels of 3.2 inches at 100 dpi, with coloured lines
    assert pixels.shape[0] == 960
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_default_keys_are_loss_and_metrics(tmp_path):
    run = make_run(tmp_path, 'a', 0.0)
    text = run_tool(TOOL, 'plot_curve',
                    run / '20260102_000000' / 'vis_data' / 'scalars.json',
                    '--out', tmp_path / 'c.png')
    assert 'loss, voc07/mAP, F1 for' in text


def load_tool():
    spec = importlib.util.spec_from_file_location('analyze_logs', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_curves_join_a_resumed_run(tmp_path):
    tool = load_tool()
    log = tool.load_run(str(make_run(tmp_path, 'a', 0.0)))
    x, y, label = tool.curve(log, 'loss')
    assert label == 'iter' and x.tolist() == list(range(1, 9))
    x, y, label = tool.curve(log, 'voc07/mAP')
    assert label == 'epoch' and x.tolist() == [1, 2]
    assert y.tolist() == [0.1, 0.3]


def test_cal_train_time(tmp_path):
    text = run_tool(TOOL, 'cal_train_time', make_run(tmp_path, 'a', 0.0))
    assert '0.3750 s/iter over 8 logged iterations' in text
    assert 'slowest epoch 1: 0.5000 s/iter, fastest epoch 2: 0.2500' in text


def test_unknown_key_lists_the_known_ones(tmp_path):
    run = make_run(tmp_path, 'a', 0.0)
    proc = subprocess.run([
        sys.executable,
        str(TOOL), 'plot_curve',
        str(run), '--keys', 'sky_mIoU', '--out',
        str(tmp_path / 'c.png')
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "a: 'sky_mIoU' is in no record" in proc.stderr
    assert 'voc07/mAP' in proc.stderr


def write_text_log(folder, lines):
    """``folder/<folder name>.log`` with MMEngine's line stamps."""
    with open(folder / f'{folder.name}.log', 'w') as f:
        for stamp, text in lines:
            f.write(f'2026/01/01 {stamp} - mmengine - INFO - {text}\n')


def test_curves_against_wall_clock_minutes(tmp_path):
    run = make_run(tmp_path, 'a', 0.0)
    first, second = run / '20260101_000000', run / '20260102_000000'
    # The first segment starts at 10:00 and ends with its evaluation at
    # 10:06; the resumed one adds 2 minutes of set-up, then 4 minutes.
    train = 'Epoch(train) [1][{}/4]  eta: 0:01:00  time: 0.5  loss: 1.9'
    write_text_log(first, [('10:00:00', 'Config:')] + [
        (f'10:0{i}:00', train.format(i)) for i in range(1, 5)
    ] + [('10:05:00', 'Epoch(val) [1][2/4]  eta: 0:00:01  time: 0.1'),
         ('10:06:00', 'Epoch(val) [1][4/4]    voc07/mAP: 0.1000')])
    write_text_log(second, [('11:00:00', 'Config:')] + [
        (f'11:0{i - 2}:00', train.format(i)) for i in range(5, 9)
    ] + [('11:06:00', 'Epoch(val) [2][4/4]    voc07/mAP: 0.3000')])
    tool = load_tool()
    log = tool.load_run(str(run))
    x, y, label = tool.curve(log, 'voc07/mAP', 'minutes')
    assert label == 'minutes' and x.tolist() == [6., 12.]
    assert y.tolist() == [0.1, 0.3]
    x, _, _ = tool.curve(log, 'loss', 'minutes')
    assert x.tolist() == [1., 2., 3., 4., 9., 10., 11., 12.]
    # a text log that does not hold the records is named
    (second / '20260102_000000.log').write_text('')
    with pytest.raises(ValueError, match='20260102_000000.log has 0 '):
        tool.curve(tool.load_run(str(run)), 'loss', 'minutes')

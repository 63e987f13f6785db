"""The exporter's self-check (tools/deployment/pytorch2onnx.py): it compares
what a user compares, PyTorch's and ONNX Runtime's boxes after the
post-process on a real frame (or a generated one without data), and fails
when they differ; and the matching it relies on."""
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytest.importorskip(
    'onnxruntime',
    reason='onnxruntime is not installed (pip install "bafenet[deploy]")')

from bafenet.deployment import detection_agreement  # noqa: E402
from tests.test_deployment.test_onnx_parity import run_tool  # noqa: E402


def detections(boxes, scores, labels=None):
    return dict(
        bboxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        scores=np.asarray(scores, np.float32),
        labels=np.zeros(len(scores), np.int64)
        if labels is None else np.asarray(labels))


def test_detection_agreement():
    ref = detections([[0, 0, 4, 4], [10, 10, 13, 14], [20, 20, 24, 24]],
                     [0.9, 0.5, 0.06])
    same = detection_agreement(ref, ref, 1e-4)
    assert same['misses'] == 0 and same['matched_result'] == 3
    assert same['least_iou'] == 1 and same['largest_score_difference'] == 0
    # the lowest box missing on one side: at the cut-off, not a miss
    cut = detections(ref['bboxes'][:2], ref['scores'][:2])
    assert detection_agreement(ref, cut, 1e-4)['misses'] == 0
    # a confident box missing, a moved box, a changed score or label: misses
    assert detection_agreement(
        ref, detections(ref['bboxes'][1:], ref['scores'][1:]),
        1e-4)['misses'] == 1
    moved = ref['bboxes'].copy()
    moved[0] += 1
    assert detection_agreement(ref, detections(moved, ref['scores']),
                               1e-4)['misses'] == 2
    assert detection_agreement(
        ref, detections(ref['bboxes'], ref['scores'] + [0.01, 0, 0]),
        1e-4)['misses'] == 2
    assert detection_agreement(
        ref, detections(ref['bboxes'], ref['scores'], [1, 0, 0]),
        1e-4)['misses'] == 2
    assert detection_agreement(ref, detections([], []), 1e-4)['misses'] == 3


def test_check_on_a_real_frame(demo_model, real_root, tmp_path):
    config, checkpoint = demo_model
    out = run_tool('tools/deployment/pytorch2onnx.py', config, checkpoint,
                   '--out', tmp_path / 'm.onnx', '--data-root', real_root,
                   '--shape', 256, 320)
    line = next(t for t in out.splitlines() if t.startswith('check on '))
    first = (real_root / 'Splits/test_v2.txt').read_text().split()[0]
    assert f'PNGImages/{first}.png through the test pipeline' in line
    boxes = int(line.split(': ', 1)[1].split(' boxes')[0])
    assert boxes > 10 and ', 0 missing' in line, line


def test_check_without_data_and_its_failure(demo_model, tmp_path):
    config, checkpoint = demo_model
    args = ['tools/deployment/pytorch2onnx.py', config, checkpoint, '--out',
            tmp_path / 'm.onnx', '--data-root', tmp_path / 'no_data',
            '--shape', 128, 160]
    out = run_tool(*args)
    assert 'check on a generated 128x160 frame' in out
    # a tolerance nothing meets: every box is a miss, and the tool fails
    proc = subprocess.run([sys.executable, *map(str, args), '--tolerance',
                           '-1'], cwd=REPO_ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'the detections differ from PyTorch' in proc.stderr

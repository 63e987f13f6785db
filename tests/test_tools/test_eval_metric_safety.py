"""tools/analysis_tools/eval_metric.py reads a predictions file without
running code: payloads (a pickle calling os.system or open, a tensor
storage holding a pickled payload, a YAML file building Python objects)
are refused before they run, naming the file and what was refused, and what
``tools/test.py --out`` writes (its dump of real DenseSIRST samples) still
loads."""
import io
import os
import pickle
import subprocess
import sys

import mmengine
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData, PixelData

from bafenet.evaluation import (DumpSkyDetResults, PredictionsFileError,
                                load_predictions)
from bafenet.registry import DATASETS
from bafenet.utils import load_config
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'


class Touch:
    """Unpickled, runs ``touch path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}', ))


class OpenForWriting:
    """Unpickled, creates ``path`` with ``open(path, 'w')``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), 'w'))


class StorageFromBytes:
    """Unpickled, hands ``data`` to torch's storage loader, as a pickled
    tensor does."""

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return (torch.storage._load_from_bytes, (self.data, ))


def prediction(payload=None):
    """A prediction as tools/test.py --out writes one, with ``payload``
    among its fields."""
    pred = dict(
        img_path='PNGImages/Misc_1.png',
        pred_instances=dict(
            bboxes=torch.zeros(1, 4),
            scores=torch.ones(1),
            labels=torch.zeros(1, dtype=torch.long)))
    if payload is not None:
        pred['extra'] = payload
    return pred


def run_eval_metric(path, real_root):
    return subprocess.run([
        sys.executable, 'tools/analysis_tools/eval_metric.py', CONFIG, path,
        '--data-root', real_root
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)


@pytest.mark.parametrize('payload, refused',
                         [(Touch, f'{os.system.__module__}.system'),
                          (OpenForWriting, f'{open.__module__}.open')])
def test_a_pickled_payload_is_refused_before_it_runs(payload, refused,
                                                     real_root, tmp_path):
    path, marker = tmp_path / 'preds.pkl', tmp_path / 'pwned'
    # mmengine.dump writes protocol 2, as tools/test.py --out does.
    mmengine.dump([prediction(payload(marker))], path)
    proc = run_eval_metric(path, real_root)
    assert proc.returncode != 0
    assert not marker.exists()
    assert (f'PredictionsFileError: {path}: refused to load: it names the '
            f'global {refused}') in proc.stderr, proc.stderr[-3000:]


def test_a_payload_inside_a_tensor_storage_is_refused(tmp_path):
    """A tensor's storage is pickled as bytes that torch.load reads; those
    bytes are loaded with weights_only=True."""
    marker = tmp_path / 'pwned'
    inner = io.BytesIO()
    torch.save(Touch(marker), inner, _use_new_zipfile_serialization=False)
    path = tmp_path / 'preds.pkl'
    mmengine.dump([prediction(StorageFromBytes(inner.getvalue()))], path)
    with pytest.raises(PredictionsFileError,
                       match='a tensor storage in it was refused'):
        load_predictions(path)
    assert not marker.exists()


def test_a_yaml_payload_is_refused(real_root, tmp_path):
    path, marker = tmp_path / 'preds.yaml', tmp_path / 'pwned'
    path.write_text(f'- !!python/object/apply:os.system ["touch {marker}"]\n')
    proc = run_eval_metric(path, real_root)
    assert proc.returncode != 0
    assert not marker.exists()
    assert (f'{path}: not a predictions file of tools/test.py --out'
            in proc.stderr), proc.stderr[-3000:]


@pytest.mark.parametrize('content, problem', [
    (dict(a=1), 'holds a dict, not the list of per-image predictions'),
    ([dict(img_path='x.png')], 'prediction 0 (x.png) has no pred_instances'),
    ([dict(prediction(), pred_instances=dict(bboxes=[[0, 0, 1, 1]]))],
     'pred_instances.bboxes is a list, not a tensor'),
])
def test_other_content_is_named(content, problem, tmp_path):
    path = tmp_path / 'preds.pkl'
    mmengine.dump(content, path)
    with pytest.raises(PredictionsFileError) as err:
        load_predictions(path)
    assert str(err.value).startswith(f'{path}: ')
    assert problem in str(err.value)


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / 'preds.pkl'
    mmengine.dump([prediction()], path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(PredictionsFileError,
                       match=f'{path}: not a readable pickle'):
        load_predictions(path)


def test_the_dump_of_tools_test_loads(real_root, tmp_path):
    """DumpSkyDetResults, as tools/test.py --out runs it (through the
    Evaluator), on real samples of the test pipeline with predictions:
    every field comes back equal."""
    cfg = load_config(str(CONFIG), data_root=str(real_root))
    cfg.test_dataloader.dataset.ann_file = 'Splits/mini_test.txt'
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    samples = []
    for index in range(2):
        sample: DetDataSample = dataset[index]['data_samples']
        height, width = sample.ori_shape
        # Meta fields other pipelines add: numpy arrays and scalars.
        sample.set_metainfo(
            dict(
                homography_matrix=np.eye(3, dtype=np.float32),
                pad_value=np.float64(0.5)))
        sample.pred_instances = InstanceData(
            bboxes=torch.rand(5, 4) * 100,
            scores=torch.rand(5),
            labels=torch.zeros(5, dtype=torch.long))
        sky = torch.rand(1, height, width)
        sample.pred_sem_seg = PixelData(
            sem_seg=(sky > 0.5).to(torch.uint8), sky_prob=sky)
        samples.append(sample)
    path = tmp_path / 'preds.pkl'
    evaluator = Evaluator(DumpSkyDetResults(out_file_path=str(path)))
    evaluator.process(samples)
    evaluator.evaluate(len(samples))

    loaded = load_predictions(path)
    with open(path, 'rb') as f:
        expected = pickle.load(f)
    assert len(loaded) == 2 and 'sky_prob' not in loaded[0]['pred_sem_seg']
    assert isinstance(loaded[0]['homography_matrix'], np.ndarray)
    assert_equal(loaded, expected)


def assert_equal(a, b):
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_equal(x, y)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b

"""The ``metrics.json`` report of ``tools/test.py`` and ``eval_metric.py``."""
import json
import math
import os.path as osp

from mmengine.config import Config

from bafenet.utils import innermost_dataset_cfg


def test_split_file(cfg: Config) -> str:
    """The split file of the (possibly wrapped) test dataset of ``cfg``."""
    dataset = innermost_dataset_cfg(cfg.test_dataloader.dataset)
    return osp.join(dataset.get('data_root', ''), dataset.get('ann_file', ''))


def json_metrics(metrics: dict) -> dict:
    """``metrics`` as JSON numbers: an undefined figure (NaN, e.g. the
    best-F1 threshold without any true positive) becomes None (null)."""
    return {
        k: None if math.isnan(float(v)) else float(v)
        for k, v in metrics.items()
    }


def write_metrics_report(path: str, metrics: dict, **fields) -> dict:
    """Write ``fields`` and then ``metrics`` to ``path`` as JSON.

    Args:
        path (str): The JSON file.
        metrics (dict): Figure name -> number (see :func:`json_metrics`).
        **fields: What the figures are of (config, checkpoint, split...).

    Returns:
        dict: The report written.
    """
    report = dict(fields, metrics=json_metrics(metrics))
    with open(path, 'w') as f:
        json.dump(report, f, indent=2, allow_nan=False)
    return report

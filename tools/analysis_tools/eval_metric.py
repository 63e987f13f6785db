"""Recompute every figure from saved predictions, without the model.

``python tools/analysis_tools/eval_metric.py CONFIG PREDICTIONS.pkl``
(mmdet's command surface) evaluates the predictions that ``tools/test.py
CONFIG CKPT --out PREDICTIONS.pkl`` saved: the config's test dataset and
pipeline reload the annotations (boxes, sky maps, target masks, which the
pickle leaves out), each saved prediction joins the annotations of the image
with the same ``img_path``, and the config's ``test_evaluator`` computes the
figures. With the same config they equal ``tools/test.py``'s
``metrics.json``, which ``--out`` writes again (same format, ``predictions``
in place of ``checkpoint``). Change thresholds with ``--cfg-options``, e.g.
``test_evaluator.score_thr=0.5``, or evaluate masks with a config that has
them.

The pickle is read without running anything
(:func:`bafenet.evaluation.load_predictions`): only the containers, tensors
and numpy arrays ``--out`` writes are unpickled, and a file naming anything
else (a payload) is refused with an error naming the file and the refused
global. Other formats (JSON, YAML) are refused.
"""
import argparse
import json
from typing import Iterator, List

from mmengine.config import DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from bafenet.apis.cli import (json_metrics, test_split_file,
                              write_metrics_report)
from bafenet.evaluation import PredictionsFileError, load_predictions
from bafenet.registry import DATASETS
from bafenet.utils import load_config, register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(
        description='Evaluate the predictions saved by tools/test.py --out')
    parser.add_argument('config', help='the config the predictions came from')
    parser.add_argument(
        'pkl_results',
        help='the tools/test.py --out pickle (read without running code)')
    parser.add_argument(
        '--data-root',
        help='dataset folder; replaces every data_root of the config')
    parser.add_argument(
        '--out', help='write the figures to this JSON file (metrics.json)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def annotated_predictions(dataset, predictions: List[dict],
                          pkl_path: str) -> Iterator[dict]:
    """The dataset's annotated samples, each with its saved prediction, one
    at a time (the annotations of a whole split need not fit in memory).

    Args:
        dataset: The test dataset (with its pipeline).
        predictions (list[dict]): The samples of the pickle.
        pkl_path (str): The pickle, for the messages.

    Yields:
        dict: One sample per image, in the dataset's order.

    Raises:
        KeyError: An image of the dataset has no prediction, or a
            prediction no image.
    """
    by_path = {pred['img_path']: pred for pred in predictions}
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples'].to_dict()
        pred = by_path.pop(sample['img_path'], None)
        if pred is None:
            raise KeyError(f'{pkl_path}: no prediction for '
                           f'{sample["img_path"]}')
        sample.update(
            {key: value
             for key, value in pred.items() if key.startswith('pred_')})
        yield sample
    if by_path:
        raise KeyError(f'{pkl_path}: {len(by_path)} prediction(s) for images '
                       f'the test dataset does not list, e.g. '
                       f'{next(iter(by_path))}')


def main():
    args = parse_args()
    try:
        predictions = load_predictions(args.pkl_results)
    except PredictionsFileError as err:
        raise SystemExit(f'PredictionsFileError: {err}') from None
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    init_default_scope(cfg.get('default_scope', 'bafenet'))

    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    samples = annotated_predictions(dataset, predictions, args.pkl_results)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    metrics = evaluator.offline_evaluate(samples)

    if args.out:
        write_metrics_report(
            args.out,
            metrics,
            config=args.config,
            predictions=args.pkl_results,
            split=test_split_file(cfg))
        print(f'metrics written to {args.out}')
    else:
        print(json.dumps(json_metrics(metrics), indent=2))


if __name__ == '__main__':
    main()

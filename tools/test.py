"""Test (and evaluate) a detector: ``python tools/test.py CONFIG CHECKPOINT``.

The config's evaluator (``DenseSIRSTMetric``: every figure of
``docs/evaluation.md``) prints one table; the figures are also written as
``metrics.json`` into the work directory, naming the config, the checkpoint
and the dataset split. A figure that is undefined (the best-F1 threshold
without any true positive) is written as null. ``--show-dir`` writes, per image,
the ground truth beside the predictions, each over its sky map.

The checkpoint must cover the model: one of another model (missing,
shape-mismatched or extra weights) is refused with an error naming the keys
and the config it was trained with, rather than evaluated half-random;
``--allow-partial-checkpoint`` loads what fits instead, with a warning.

``--backend onnxruntime`` evaluates a model exported by
``tools/deployment/pytorch2onnx.py`` (float32 or ``--int8``) instead:
CHECKPOINT is the ``.onnx`` file, checked against the config's detector.
"""
import argparse
import os
import os.path as osp

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from bafenet.apis.cli import (add_tile_arguments, test_split_file,
                              tiled_test_config, write_metrics_report)
from bafenet.evaluation import DumpSkyDetResults
from bafenet.utils import (load_model_checkpoint, load_tool_config,
                           register_all_modules, setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a detector')
    parser.add_argument(
        'config',
        help='config file, or the name of a config installed with bafenet')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file (the .onnx file with --backend onnxruntime)')
    parser.add_argument(
        '--backend',
        choices=['pytorch', 'onnxruntime'],
        default='pytorch',
        help='run the PyTorch model, or the exported one with ONNX Runtime')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='evaluate even if the checkpoint does not cover the model '
        '(missing, shape-mismatched or extra weights): load the weights '
        'that fit and warn; by default such a checkpoint is refused')
    parser.add_argument(
        '--work-dir', help='the dir to save the metrics and pictures')
    parser.add_argument(
        '--data-root',
        help='dataset folder in the SIRSTdevkit layout; replaces every '
        'data_root of the config')
    parser.add_argument(
        '--out',
        help='dump predictions to a pickle file for offline evaluation '
        '(boxes and sky labels; tools/analysis_tools/eval_metric.py '
        'reads it)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='folder, under the work dir\'s timestamped folder, where '
        'pictures of the predictions are written')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    add_tile_arguments(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)

    cfg = load_tool_config(args.config, args.cfg_options, args.data_root,
                           args.work_dir, args.launcher)
    setup_cpu_distributed(cfg)
    if args.tile:
        if args.backend != 'pytorch':
            raise ValueError('--tile runs on the pytorch backend only')
        cfg = tiled_test_config(cfg, args.tile_overlap, args.tile_size)
    if args.backend == 'onnxruntime':
        cfg.custom_hooks = []  # EMA, channels-last: hooks of torch weights

    # The checkpoint is loaded below, checked against the model.
    cfg.load_from = None
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must name a .pkl file, got {args.out}')
        runner.test_evaluator.metrics.append(
            DumpSkyDetResults(out_file_path=args.out))
    if args.backend == 'onnxruntime':
        from bafenet.deployment import ONNXRuntimeDetector
        runner.model = ONNXRuntimeDetector.for_detector(
            args.checkpoint, runner.model, args.config)
    else:
        load_model_checkpoint(
            runner.model,
            args.checkpoint,
            allow_partial=args.allow_partial_checkpoint,
            logger=runner.logger)
    runner.logger.info(f'Load checkpoint from {args.checkpoint}')

    metrics = runner.test()

    if is_main_process():
        out_path = osp.join(cfg.work_dir, 'metrics.json')
        write_metrics_report(
            out_path,
            metrics,
            config=args.config,
            checkpoint=args.checkpoint,
            split=test_split_file(cfg),
            tiling=dict(
                tile_size=list(cfg.model.tile_size),
                overlap=cfg.model.overlap) if args.tile else None)
        runner.logger.info(f'metrics written to {out_path}')


if __name__ == '__main__':
    main()

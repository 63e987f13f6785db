"""Train a detector: ``python tools/train.py CONFIG [options]``.

``--resume`` without a path continues from the newest complete checkpoint of
the work directory, found in the folder the work directory is now (it may
have been moved or copied since): a truncated latest checkpoint (a run
killed while saving it) is skipped with a warning naming it. The run says
which file it resumes from. A checkpoint that does not cover the model
(missing, shape-mismatched or extra weights) is refused, as by
``tools/test.py``, unless ``--allow-partial-checkpoint``.
"""
import argparse
import os

from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from bafenet.utils import (check_resume_checkpoint, find_resumable_checkpoint,
                           load_tool_config, register_all_modules,
                           setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument(
        'config',
        help='config file, or the name of a config installed with bafenet')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--data-root',
        help='dataset folder in the SIRSTdevkit layout; replaces every '
        'data_root of the config')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the total batch size over '
        'auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a path from the '
        'newest complete checkpoint in the work directory')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='resume even if the checkpoint does not cover the model '
        '(missing, shape-mismatched or extra weights): load the weights '
        'that fit and warn; by default such a checkpoint is refused')
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
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
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

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.'
                               'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True

    resume_from = args.resume
    if resume_from is None and cfg.get('resume'):
        # resume=True in the config: from its load_from, else as --resume.
        resume_from = cfg.get('load_from') or 'auto'
    if resume_from == 'auto':
        resume_from = find_resumable_checkpoint(cfg.work_dir)
        if resume_from is None:
            print_log(
                f'--resume: no checkpoint in {cfg.work_dir}, nothing to '
                'resume', logger='current')
    cfg.resume = resume_from is not None
    if resume_from is not None:
        cfg.load_from = resume_from
        print_log(f'resuming from {resume_from}', logger='current')

    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    if resume_from is not None:
        check_resume_checkpoint(
            runner.model,
            resume_from,
            allow_partial=args.allow_partial_checkpoint,
            logger=runner.logger)
    runner.train()


if __name__ == '__main__':
    main()

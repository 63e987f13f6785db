"""Detect targets and segment the sky in images, with mmdet's demo options.

``python tools/demo/image_demo.py INPUTS... CONFIG --weights CKPT``

INPUTS are image files, folders of images, or URLs. Into ``--out-dir``
(default ``outputs``) it writes, per image, ``vis/<name>`` (rings around
the boxes scoring more than ``--pred-score-thr`` over the translucent,
outlined sky; ``--show-scores`` writes their scores, ``--titles`` adds a
title and a legend), ``preds/<name>.json``
(every box: ``bboxes`` ``[x1, y1, x2, y2]``, ``scores``, ``labels``, and
``sky_fraction``, ``sky_map_path``) and ``preds/<name>_sky.png``. It runs
through :class:`bafenet.apis.SkyDetInferencer`, on PyTorch or, with
``--backend onnxruntime --weights model.onnx``, on ONNX Runtime. An input
that cannot be read is reported by name and skipped; the exit status is 1 if
any was.
"""
import os.path as osp
import sys
from argparse import ArgumentParser

from mmdet.apis.det_inferencer import IMG_EXTENSIONS
from mmengine.config import Config, DictAction
from mmengine.fileio import get_file_backend, join_path, list_dir_or_file

from bafenet.apis import SkyDetInferencer
from bafenet.apis.cli import add_tile_arguments, tiled_test_config
from bafenet.apis.inference_pipeline import set_bit_depth
from bafenet.apis.sky_det_inferencer import BACKENDS
from bafenet.utils import find_config, register_all_modules


def parse_args():
    parser = ArgumentParser(
        description='Detect targets and segment the sky in images')
    parser.add_argument(
        'inputs', nargs='+', help='image files, folders of images or URLs')
    parser.add_argument(
        'model',
        help='config file, or the name of a config installed with bafenet')
    parser.add_argument(
        '--weights',
        help='checkpoint file, or the .onnx file with --backend onnxruntime')
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        default='pytorch',
        help='run the PyTorch model, or a model exported by '
        'tools/deployment/pytorch2onnx.py with ONNX Runtime '
        '(docs/deployment.md)')
    parser.add_argument(
        '--out-dir', default='outputs', help='folder for vis/ and preds/')
    parser.add_argument('--device', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--pred-score-thr',
        type=float,
        default=0.3,
        help='boxes scoring at least this are drawn')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--show', action='store_true', help='show pictures')
    parser.add_argument(
        '--no-save-vis', action='store_true', help='write no pictures')
    parser.add_argument(
        '--no-save-pred', action='store_true', help='write no JSON/PNG maps')
    parser.add_argument(
        '--print-result', action='store_true', help='print the predictions')
    parser.add_argument(
        '--bit-depth',
        type=int,
        help='bits of the values of 16-bit frames (14 for a 14-bit '
        'sensor\'s raw frames); default: the config\'s ScaleBitDepth')
    parser.add_argument(
        '--show-scores',
        action='store_true',
        help='write each drawn box\'s score beside it')
    parser.add_argument(
        '--titles',
        action='store_true',
        help='title the pictures and add a legend of their colours')
    add_tile_arguments(parser)
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='accept a checkpoint that does not cover the model (missing or '
        'reshaped weights keep their initial values)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def expand_inputs(inputs):
    """Image files and URLs, with each folder replaced by its images
    (sorted); a folder without images is an error named in the list.

    A URL is an image to read (a failure to read it is that input's error,
    reported with the others): its backend (HTTP) has no folders.
    """
    files, errors = [], []
    for item in inputs:
        backend = get_file_backend(item)
        if not (hasattr(backend, 'isdir') and backend.isdir(item)):
            files.append(item)
            continue
        names = sorted(
            list_dir_or_file(item, list_dir=False, suffix=IMG_EXTENSIONS))
        if not names:
            errors.append(
                f'{item}: no image files ({" ".join(IMG_EXTENSIONS)})')
        files.extend(join_path(item, name) for name in names)
    return files, errors


def main():
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(find_config(args.model))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.bit_depth is not None:
        set_bit_depth(cfg, args.bit_depth)
    if args.tile and args.tile_size is None:
        try:
            tiled_test_config(cfg, args.tile_overlap)
        except ValueError as err:
            sys.exit(f'error: {args.model}: {err}')
    if args.show_scores or args.titles:
        cfg.visualizer.update(
            show_scores=args.show_scores,
            titles=args.titles,
            legend=args.titles)
    inferencer = SkyDetInferencer(
        cfg,
        args.weights,
        device=args.device,
        show_progress=False,
        allow_partial=args.allow_partial_checkpoint,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        tile_size=args.tile_size,
        backend=args.backend)
    call_args = dict(
        pred_score_thr=args.pred_score_thr,
        out_dir=args.out_dir,
        show=args.show,
        no_save_vis=args.no_save_vis,
        no_save_pred=args.no_save_pred,
        print_result=args.print_result)

    def run(batch):
        """Run a batch; on failure, each image alone. Returns the errors."""
        try:
            inferencer(batch, batch_size=len(batch), **call_args)
            return []
        except Exception as err:
            if len(batch) == 1:
                return [f'{batch[0]}: {type(err).__name__}: {err}']
            return [error for item in batch for error in run([item])]

    files, errors = expand_inputs(args.inputs)
    failed = []
    for start in range(0, len(files), args.batch_size):
        failed += run(files[start:start + args.batch_size])
    print(f'{len(files) - len(failed)} of {len(files)} images done, results '
          f'in {osp.abspath(args.out_dir)}')
    errors += failed
    if errors:
        print(
            f'{len(errors)} input(s) failed:\n' + '\n'.join(errors),
            file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()

"""Export a trained FCOS, FCOS-Seg or BAFE-Net to ONNX, optionally also
quantised to int8.

``python tools/deployment/pytorch2onnx.py CONFIG CKPT --out model.onnx``

The graph takes a normalised, padded (B, 3, H, W) batch and returns the raw
per-level outputs of the head (see ``docs/deployment.md``); the settings of
the pre- and post-process are stored in the file, which
``bafenet.deployment.ONNXRuntimeDetector`` runs. Height and width (and,
with the default TorchScript exporter, the batch size) stay free unless
``--static``.

``--int8`` also writes a statically quantised model (QDQ, int8 weights per
channel, uint8 activations calibrated on ``--calib-images`` frames of
``--calib-split`` through the config's test pipeline), by default beside
``--out`` as ``<name>_int8.onnx``.

When onnxruntime is installed, the exported model is checked as a user
would check it: PyTorch and ONNX Runtime detect on the same frame (the first
test frame of the config's data, else a generated frame with a sky, ground
and a few small bright targets), and their boxes, scores and labels after the
post-process, and sky maps, are compared; the tool fails if a box of one has
no match in the other (same label, IoU > 0.99, score within ``--tolerance``)
or the sky probabilities differ by more than ``--tolerance``. The int8
model is compared the same way and its agreement printed; its accuracy is
measured by ``benchmark.py realtime --map``.
"""
import argparse
import copy
import os.path as osp

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.config import DictAction

from bafenet.apis import init_detector
from bafenet.deployment import (ONNXRuntimeDetector, deployment_metadata,
                                detection_agreement, export_onnx)
from bafenet.deployment.onnx_export import EXPORTERS
from bafenet.deployment.quantization import (KEEP_FP32, config_frames,
                                             quantize_int8)
from bafenet.utils import load_config, register_all_modules

#: How an int8 model's boxes are matched to PyTorch's in the printed
#: comparison (quantisation moves scores by a few hundredths).
INT8_SCORE_TOLERANCE = 0.05
INT8_MIN_IOU = 0.5


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export a detector to ONNX')
    parser.add_argument(
        'config',
        help='config file, or the name of a config installed with bafenet')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[512, 512],
        metavar=('H', 'W'),
        help='example input traced (and the only size with --static)')
    parser.add_argument(
        '--exporter',
        choices=EXPORTERS,
        default='torchscript',
        help="torch's exporter: 'torchscript' (dynamo=False, fast) or "
        "'dynamo' (torch.export; a smaller graph, much slower to export)")
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset')
    parser.add_argument(
        '--static',
        action='store_true',
        help='fix batch size and input size to the example')
    parser.add_argument(
        '--data-root',
        help='dataset folder in the SIRSTdevkit layout; replaces every '
        'data_root of the config (check and calibration frames)')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-3,
        help='largest score (and sky probability) difference to PyTorch '
        'accepted by the check')
    parser.add_argument(
        '--int8',
        action='store_true',
        help='also write a statically quantised int8 model')
    parser.add_argument(
        '--int8-out', help='the int8 .onnx file (default: <out>_int8.onnx)')
    parser.add_argument(
        '--calib-split',
        default='train_v2',
        help="frames that calibrate the int8 ranges: a split name "
        "('train_v2' is Splits/train_v2.txt) or annotation file")
    parser.add_argument(
        '--calib-images',
        type=int,
        default=32,
        help='how many frames of --calib-split calibrate')
    parser.add_argument(
        '--keep-fp32',
        nargs='*',
        choices=KEEP_FP32,
        default=list(KEEP_FP32),
        help='convolutions left in float32 by --int8: the first one, the '
        'depthwise ones, the output ones (none: the option without values)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def generated_frame(height: int, width: int) -> np.ndarray:
    """A frame that looks like an infrared one: a smooth sky over darker,
    textured ground, sensor noise, and eight small bright targets.

    Returns:
        np.ndarray: (H, W, 3) uint8, the three channels equal.
    """
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[:height, :width].astype(np.float32)
    horizon = height * (0.6 + 0.05 * np.sin(xs / max(width, 1) * 6))
    sky = 140 - 40 * ys / height
    ground = 70 + 15 * np.sin(xs / 7) * np.cos(ys / 5)
    frame = np.where(ys < horizon, sky, ground)
    frame = frame + rng.normal(0, 3, frame.shape)
    for _ in range(8):
        cy, cx = rng.uniform(0.1, 0.9) * height, rng.uniform(0.1, 0.9) * width
        sigma = rng.uniform(0.8, 2.0)
        frame += 80 * np.exp(-((ys - cy)**2 + (xs - cx)**2) / (2 * sigma**2))
    return np.repeat(frame.clip(0, 255).astype(np.uint8)[..., None], 3, -1)


def frame_sample(image: np.ndarray, source: str) -> dict:
    """A one-frame test batch of a (H, W, 3) BGR uint8 image at its own
    size (scale factor 1)."""
    height, width = image.shape[:2]
    sample = DetDataSample(
        metainfo=dict(
            img_path=source,
            ori_shape=(height, width),
            img_shape=(height, width),
            scale_factor=(1., 1.)))
    inputs = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    return dict(inputs=[inputs], data_samples=[sample])


def check_batch(cfg, shape, static: bool):
    """The frame of the check: the first test frame of the config's data
    through its test pipeline (resized to ``shape`` with ``--static``), or,
    when that data cannot be read, a generated frame of ``shape``.

    Returns:
        tuple[dict, str]: The collated batch and where the frame came from.
    """
    import cv2
    try:
        dataset = config_frames(cfg, None, 1)
        sample = dataset[0]
    except (FileNotFoundError, OSError, ValueError) as error:
        height, width = shape
        return (frame_sample(generated_frame(height, width), 'generated'),
                f'a generated {height}x{width} frame (the config\'s test '
                f'data could not be read: {error})')
    source = sample['data_samples'].img_path
    if static:
        image = sample['inputs'].numpy().transpose(1, 2, 0)
        image = cv2.resize(image, (shape[1], shape[0]))
        return (frame_sample(image, source),
                f'{source}, resized to the static {shape[0]}x{shape[1]}')
    return (dict(inputs=[sample['inputs']],
                 data_samples=[sample['data_samples']]),
            f'{source} through the test pipeline')


def compare_with_pytorch(model,
                         runner: ONNXRuntimeDetector,
                         data: dict,
                         tolerance: float,
                         min_iou: float = 0.99) -> dict:
    """PyTorch's and ONNX Runtime's detections (and sky maps) of one frame,
    matched box for box (:func:`~bafenet.deployment.detection_agreement`).

    Returns:
        dict: The agreement, plus ``sky_probability_difference`` (largest,
        None without a sky branch).
    """
    with torch.no_grad():
        expected = model.test_step(copy.deepcopy(data))[0]
    result = runner.test_step(copy.deepcopy(data))[0]
    agreement = detection_agreement(
        expected.pred_instances.cpu().to_dict(),
        result.pred_instances.to_dict(), tolerance, min_iou)
    agreement['sky_probability_difference'] = None
    if 'pred_sem_seg' in expected and 'pred_sem_seg' in result:
        agreement['sky_probability_difference'] = float(
            (expected.pred_sem_seg.sky_prob.cpu() -
             result.pred_sem_seg.sky_prob).abs().max())
    return agreement


def describe(agreement: dict) -> str:
    text = (f'{agreement["num_reference"]} boxes (PyTorch) and '
            f'{agreement["num_result"]} (ONNX Runtime), '
            f'{agreement["matched_reference"]} and '
            f'{agreement["matched_result"]} matched, '
            f'{agreement["misses"]} missing')
    if agreement['least_iou'] is not None:
        text += (f'; least IoU {agreement["least_iou"]:.6f}, largest score '
                 f'difference {agreement["largest_score_difference"]:.2e}')
    if agreement['sky_probability_difference'] is not None:
        text += ('; largest sky-probability difference '
                 f'{agreement["sky_probability_difference"]:.2e}')
    return text


def main():
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    model = init_detector(cfg, args.checkpoint)
    metadata = export_onnx(
        model,
        args.out,
        input_shape=args.shape,
        exporter=args.exporter,
        opset_version=args.opset,
        dynamic=not args.static)
    print(f'{args.out}: {metadata["detector"]} ({args.exporter} exporter, '
          f'opset {args.opset}), outputs '
          f'{", ".join(metadata["output_names"])}')
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if args.int8:
            raise SystemExit('--int8 needs onnxruntime: pip install '
                             '"bafenet[deploy]"')
        print('onnxruntime is not installed: the export was not checked')
        return
    runner = ONNXRuntimeDetector(args.out)
    runner.adopt_settings(deployment_metadata(model), args.config)
    data, source = check_batch(cfg, args.shape, args.static)
    agreement = compare_with_pytorch(model, runner, data, args.tolerance)
    print(f'check on {source}: {describe(agreement)}')
    failed = agreement['misses'] > 0 or (
        agreement['sky_probability_difference'] or 0) > args.tolerance
    if failed:
        raise SystemExit(f'{args.out}: the detections differ from '
                         f'PyTorch\'s (--tolerance {args.tolerance}): '
                         f'{describe(agreement)}')

    if args.int8:
        int8_out = args.int8_out or (osp.splitext(args.out)[0] +
                                     '_int8.onnx')
        frames = config_frames(cfg, args.calib_split, args.calib_images)
        info = quantize_int8(
            args.out,
            int8_out,
            (runner.preprocess([frames[i]['inputs'].numpy()])
             for i in range(len(frames))),
            keep_fp32=args.keep_fp32,
            calibration_info=dict(
                split=args.calib_split, num_images=len(frames)))
        print(f'{int8_out}: int8 (QDQ), calibrated on {len(frames)} frames '
              f'of {args.calib_split}; float32: '
              f'{", ".join(info["fp32_nodes"]) or "nothing"}')
        int8_runner = ONNXRuntimeDetector(int8_out)
        int8_runner.adopt_settings(deployment_metadata(model), args.config)
        agreement = compare_with_pytorch(
            model, int8_runner, data, INT8_SCORE_TOLERANCE, INT8_MIN_IOU)
        print(f'int8 against PyTorch on {source} (for information, '
              f'matches within {INT8_SCORE_TOLERANCE} in score and IoU > '
              f'{INT8_MIN_IOU}): {describe(agreement)}')


if __name__ == '__main__':
    main()

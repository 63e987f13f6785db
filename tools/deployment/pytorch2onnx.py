"""Export a trained FCOS, FCOS-Seg or BAFE-Net to ONNX.

``python tools/deployment/pytorch2onnx.py CONFIG CKPT --out model.onnx``

The graph takes a normalised, padded (B, 3, H, W) batch and returns the raw
per-level outputs of the head (see ``docs/deployment.md``); the settings of
the pre- and post-process are stored in the file, which
``bafenet.deployment.ONNXRuntimeDetector`` runs. Height and width (and,
with the default TorchScript exporter, the batch size) stay free unless
``--static``. When onnxruntime is installed, the
exported graph and the PyTorch model are run on the same random input and
the largest difference of their outputs is printed; the tool fails if it
exceeds ``--tolerance``.
"""
import argparse

import numpy as np
import torch
from mmengine.config import DictAction

from bafenet.apis import init_detector
from bafenet.deployment import TensorModeDetector, export_onnx
from bafenet.deployment.onnx_export import EXPORTERS
from bafenet.utils import register_all_modules


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
        '--tolerance',
        type=float,
        default=1e-3,
        help='largest output difference to PyTorch accepted')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def compare_with_pytorch(model, onnx_file: str, shape) -> float:
    """Largest absolute difference between the raw outputs of the exported
    graph (ONNX Runtime) and of the model on one random (1, 3, H, W)
    input."""
    import onnxruntime as ort
    wrapper = TensorModeDetector(model).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(1, 3, *shape, generator=generator)
    with torch.no_grad():
        expected = wrapper(inputs)
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    outputs = session.run(wrapper.output_names, {'inputs': inputs.numpy()})
    return max(
        float(np.abs(out - ref.numpy()).max())
        for out, ref in zip(outputs, expected))


def main():
    args = parse_args()
    register_all_modules()
    model = init_detector(
        args.config, args.checkpoint, cfg_options=args.cfg_options)
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
        print('onnxruntime is not installed: the export was not checked')
        return
    diff = compare_with_pytorch(model, args.out, args.shape)
    print(f'largest output difference to PyTorch: {diff:.2e}')
    if diff > args.tolerance:
        raise SystemExit(f'{args.out}: outputs differ from PyTorch by '
                         f'{diff:.2e} > --tolerance {args.tolerance}')


if __name__ == '__main__':
    main()

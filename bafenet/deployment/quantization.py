"""Static int8 quantisation of an exported detector with ONNX Runtime.

The graph of :func:`~bafenet.deployment.export_onnx` gets QuantizeLinear /
DequantizeLinear pairs (QDQ format) around its convolutions: weights int8
per output channel, activations uint8 per tensor with ranges calibrated
(min-max) on real frames. ONNX Runtime fuses each pair with its convolution
into an integer convolution (VNNI on x86, dot-product instructions on ARM).
The first convolution (it sees the raw frame, whose faint targets are a few
grey levels above the background; with 3 input channels it is also slower
in int8), the last ones (the class, box, centerness and sky logits) and the
depthwise ones (LSK attention's; ONNX Runtime's integer kernel is slower
than its float one for them) can stay in float32.
"""
import os.path as osp
import tempfile
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

#: Operators quantised by default: convolutions carry almost all the work.
DEFAULT_OP_TYPES = ('Conv', )
#: Convolutions that can stay in float32 (see :func:`quantize_int8`).
KEEP_FP32 = ('first', 'depthwise', 'last')


def depthwise_convolutions(model) -> List[str]:
    """Names of the grouped (depthwise) convolutions of a model: ONNX
    Runtime's integer convolution is slower than its float one for them."""
    return [
        node.name for node in model.graph.node if node.op_type == 'Conv'
        and any(a.name == 'group' and a.i > 1 for a in node.attribute)
    ]


def end_convolutions(model) -> Tuple[List[str], List[str]]:
    """Names of the first convolutions (fed by the graph input) and of the
    last ones (the nearest convolutions upstream of each graph output).

    Args:
        model (onnx.ModelProto): An exported detector.

    Returns:
        tuple[list[str], list[str]]: Node names of the first and of the
        last convolutions.
    """
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    inputs = {i.name for i in graph.input}
    first = [
        node.name for node in graph.node
        if node.op_type == 'Conv' and node.input[0] in inputs
    ]
    last, seen = [], set()
    stack = [out.name for out in graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == 'Conv':
            last.append(node.name)
        else:
            stack.extend(node.input)
    return first, sorted(last)


class _FrameReader:
    """ONNX Runtime's ``CalibrationDataReader``: one pre-processed frame
    per call."""

    def __init__(self, input_name: str, batches: Iterable[np.ndarray]):
        self.input_name = input_name
        self._batches: Iterator[np.ndarray] = iter(batches)

    def get_next(self) -> Optional[dict]:
        batch = next(self._batches, None)
        return None if batch is None else {self.input_name: batch}


def quantize_int8(onnx_file: str,
                  out_file: str,
                  calibration: Iterable[np.ndarray],
                  keep_fp32: Sequence[str] = KEEP_FP32,
                  op_types: Sequence[str] = DEFAULT_OP_TYPES,
                  calibration_info: Optional[dict] = None) -> dict:
    """Quantise an exported detector (QDQ, static, calibrated).

    Args:
        onnx_file (str): The float32 model from ``export_onnx``.
        out_file (str): The int8 model to write; it carries the float
            model's deployment metadata (plus an ``int8`` entry), so the
            same runner and config checks apply.
        calibration (Iterable[np.ndarray]): Pre-processed (1, 3, H, W)
            float32 frames (``ONNXRuntimeDetector.preprocess``); sizes may
            differ.
        keep_fp32 (Sequence[str]): Any of ``'first'`` (the convolution of
            the input), ``'depthwise'`` (grouped convolutions) and
            ``'last'`` (those of the outputs): kept in float32.
        op_types (Sequence[str]): ONNX operators to quantise.
        calibration_info (dict, optional): What the frames were (e.g.
            split and count), recorded in the metadata.

    Returns:
        dict: The ``int8`` metadata entry: ``format``, ``op_types``,
        ``fp32_nodes``, ``calibration``.
    """
    import json

    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .onnx_export import METADATA_KEY, read_metadata
    unknown = set(keep_fp32) - set(KEEP_FP32)
    if unknown:
        raise ValueError(f'keep_fp32 takes {KEEP_FP32}, got '
                         f'{sorted(unknown)}')
    source = onnx.load(onnx_file)
    props = {p.key: p.value for p in source.metadata_props}
    metadata = read_metadata(props, onnx_file)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = osp.join(tmp, 'prepared.onnx')
        # constant folding and shape inference, as ONNX Runtime advises
        # before quantising; symbolic shape inference does not cover the
        # exchange's TopK on free sizes, so ONNX's own is used
        quant_pre_process(onnx_file, prepared, skip_symbolic_shape=True)
        graph = onnx.load(prepared)
        first, last = end_convolutions(graph)
        groups = dict(
            first=first, depthwise=depthwise_convolutions(graph), last=last)
        fp32_nodes = [n for key in KEEP_FP32 if key in keep_fp32
                      for n in groups[key]]
        reader = _FrameReader(metadata['input_name'], calibration)
        quantize_static(
            prepared,
            out_file,
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=fp32_nodes,
            calibrate_method=CalibrationMethod.MinMax)
    info = dict(
        format='QDQ',
        op_types=list(op_types),
        fp32_nodes=fp32_nodes,
        calibration=calibration_info or {})
    model = onnx.load(out_file)
    onnx.helper.set_model_props(
        model, {METADATA_KEY: json.dumps(dict(metadata, int8=info))})
    onnx.save(model, out_file)
    return info


def split_file(split: str) -> str:
    """The annotation file of a split: ``'train_v2'`` is
    ``'Splits/train_v2.txt'``; a path ending in ``.txt`` is kept."""
    return split if split.endswith('.txt') else f'Splits/{split}.txt'


def config_frames(cfg,
                  split: Optional[str],
                  num_images: Optional[int] = None):
    """The config's test dataset (its test pipeline: what the model sees)
    over another split of the same data.

    Args:
        cfg (mmengine.Config): A config with ``test_dataloader``.
        split (str, optional): ``'train_v2'`` or an annotation file (see
            :func:`split_file`), relative to the dataset's ``data_root``;
            None keeps the test split.
        num_images (int, optional): The first N frames; None: all.

    Returns:
        BaseDataset: Samples with ``inputs`` (3, H, W) uint8 and
        ``data_samples``.
    """
    import copy

    from bafenet.registry import DATASETS
    from bafenet.utils.config import innermost_dataset_cfg
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    inner = innermost_dataset_cfg(dataset_cfg)
    if split is not None:
        inner['ann_file'] = split_file(split)
    inner['indices'] = num_images
    inner['test_mode'] = True
    return DATASETS.build(dataset_cfg)

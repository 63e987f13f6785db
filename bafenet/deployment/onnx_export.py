"""Export of the FCOS-family detectors (FCOS, FCOS-Seg, BAFE-Net) to ONNX.

The graph is the detector's tensor-mode forward: a normalised, padded batch
in, the raw per-level outputs of the head out. Pre-processing (channel
order, normalisation, padding) and the post-process (box decoding, NMS, the
sky map at image size, :mod:`bafenet.deployment.fcos_postprocess`) run
outside it, and everything they need (strides, ``test_cfg``, mean and std,
the sky threshold, class names) is written into the model's metadata under
:data:`METADATA_KEY`, so that an ``.onnx`` file is all a runner needs.
"""
import contextlib
import json
import types
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.detectors import SingleStageDetector
from torch import Tensor

from bafenet.models.dense_heads import FCOSSegHead
from bafenet.models.layers import CrossTaskExchange

#: Key of the JSON metadata in the ONNX model's ``metadata_props``.
METADATA_KEY = 'bafenet'
#: Version of the metadata layout; runners refuse other versions.
METADATA_VERSION = 1
#: The exporters :func:`export_onnx` offers.
EXPORTERS = ('torchscript', 'dynamo')
INPUT_NAME = 'inputs'


class TensorModeDetector(nn.Module):
    """A detector's tensor-mode forward with flat, named outputs: the module
    that is exported.

    Args:
        detector (SingleStageDetector): An FCOS-family detector whose head
            is mmdet's ``FCOSHead`` or a subclass; with an
            :class:`FCOSSegHead` the logits of its ``sky_level`` are output
            too.
    """

    def __init__(self, detector: SingleStageDetector) -> None:
        super().__init__()
        self.detector = detector
        head = detector.bbox_head
        self.num_levels = len(head.strides)
        self.sky_level = (
            head.sky_level if isinstance(head, FCOSSegHead) else None)

    @property
    def output_names(self) -> List[str]:
        """``cls_score_{l}``, ``bbox_pred_{l}``, ``centerness_{l}`` for
        every level l, then ``sky_logit`` with a sky branch."""
        names = [
            f'{group}_{level}'
            for group in ('cls_score', 'bbox_pred', 'centerness')
            for level in range(self.num_levels)
        ]
        return names + (['sky_logit'] if self.sky_level is not None else [])

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Run the backbone, neck and head.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised batch, H and W
                multiples of the largest stride.

        Returns:
            tuple[Tensor]: In the order of :attr:`output_names`: per level
            (B, num_classes, H_l, W_l) class logits, (B, 4, H_l, W_l) box
            distances (l, t, r, b) in input pixels, (B, 1, H_l, W_l)
            centerness logits; then the (B, 1, H_s, W_s) sky logits.
        """
        outs = self.detector._forward(inputs)
        flat = [t for group in outs[:3] for t in group]
        if self.sky_level is not None:
            flat.append(outs[3][self.sky_level])
        return tuple(flat)


def deployment_metadata(detector: SingleStageDetector) -> dict:
    """What a runner needs besides the graph, checked to be what
    :mod:`bafenet.deployment.fcos_postprocess` reproduces.

    Args:
        detector (SingleStageDetector): The detector to export.

    Returns:
        dict: ``version``, ``detector`` and ``head`` (class names),
        ``strides``, ``num_classes``, ``test_cfg`` (see
        :func:`postprocess_settings`), ``preprocess`` (``mean``, ``std``,
        ``bgr_to_rgb``, ``pad_size_divisor``, ``pad_value``), ``sky_level``
        and ``sky_thr`` (None without a sky branch), ``classes``,
        ``input_name`` and ``output_names``.

    Raises:
        ValueError: If the detector does something the post-process does
            not: not an FCOS head, softmax scores, another box coder or point
            offset, another NMS.
    """
    head = detector.bbox_head
    name = type(detector).__name__
    problems = []
    if not isinstance(head, FCOSHead):
        problems.append(f'its head is {type(head).__name__}, not an FCOSHead')
    else:
        if not head.use_sigmoid_cls:
            problems.append('its classification is not sigmoid-based')
        if type(head.bbox_coder).__name__ != 'DistancePointBBoxCoder':
            problems.append(
                f'its box coder is {type(head.bbox_coder).__name__}')
        if head.prior_generator.offset != 0.5:
            problems.append('its points are not at the cell centres')
    try:
        test_cfg = postprocess_settings(detector.test_cfg)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError(f'{name} cannot be exported: ' + '; '.join(problems))

    preprocessor = detector.data_preprocessor
    normalize = preprocessor._enable_normalize
    wrapper = TensorModeDetector(detector)
    return dict(
        version=METADATA_VERSION,
        detector=name,
        head=type(head).__name__,
        strides=[int(s) for s in head.strides],
        num_classes=head.num_classes,
        test_cfg=test_cfg,
        preprocess=dict(
            mean=preprocessor.mean.flatten().tolist() if normalize else None,
            std=preprocessor.std.flatten().tolist() if normalize else None,
            bgr_to_rgb=bool(preprocessor._channel_conversion),
            pad_size_divisor=preprocessor.pad_size_divisor,
            pad_value=float(preprocessor.pad_value)),
        sky_level=wrapper.sky_level,
        sky_thr=(detector.sky_thr if wrapper.sky_level is not None else None),
        classes=list(getattr(detector, 'dataset_meta', {}).get('classes', [])),
        input_name=INPUT_NAME,
        output_names=wrapper.output_names)


def postprocess_settings(test_cfg: Optional[dict]) -> dict:
    """The settings of :func:`~bafenet.deployment.fcos_postprocess.
    decode_detections` from a detector's ``test_cfg``.

    Args:
        test_cfg (dict, optional): ``score_thr``, ``nms_pre``,
            ``min_bbox_size`` (optional, as in mmdet), ``nms`` (class-wise
            ``type='nms'``) and ``max_per_img``.

    Returns:
        dict: ``score_thr``, ``nms_pre``, ``min_bbox_size``,
        ``nms.iou_threshold`` and ``max_per_img``.

    Raises:
        ValueError: For another NMS, or without ``nms`` or ``max_per_img``.
    """
    test_cfg = test_cfg or {}
    nms = test_cfg.get('nms') or {}
    if 'nms' not in test_cfg or 'max_per_img' not in test_cfg:
        raise ValueError('its test_cfg needs nms and max_per_img')
    if nms.get('type', 'nms') != 'nms' or nms.get('class_agnostic', False):
        raise ValueError(f'its test_cfg.nms is {dict(nms)}, not class-wise '
                         "type='nms'")
    return dict(
        score_thr=test_cfg.get('score_thr', 0),
        nms_pre=test_cfg.get('nms_pre', -1),
        min_bbox_size=test_cfg.get('min_bbox_size', -1),
        nms=dict(iou_threshold=nms['iou_threshold']),
        max_per_img=test_cfg['max_per_img'])


def _vecdot_symbolic(g, x, y, dim):
    """ONNX of ``torch.linalg.vecdot`` for real tensors (the TorchScript
    exporter has none): ``ReduceSum(x * y, dim)``."""
    from torch.onnx.symbolic_helper import _get_const
    axis = _get_const(dim, 'i', 'dim')
    return g.op(
        'ReduceSum',
        g.op('Mul', x, y),
        g.op('Constant', value_t=torch.tensor([axis])),
        keepdims_i=0)


def _one_hot_channels(index: Tensor, num_channels: int,
                      dtype: torch.dtype) -> Tensor:
    """(B, k) channel indices -> (B, k, C) one-hot rows."""
    channels = torch.arange(num_channels, device=index.device)
    return (index[:, :, None] == channels).to(dtype)


def _exchange_by_matmul(self: CrossTaskExchange, a: Tensor,
                        b: Tensor) -> Tuple[Tensor, Tensor]:
    """:meth:`CrossTaskExchange.forward` with its channel gather and scatter
    as products with one-hot matrices, for export.

    Gathering k of C channels is ``S @ x`` and putting them back is
    ``x * (1 - S^T 1) + S^T @ y``, with S the (B, k, C) one-hot rows of the
    chosen indices: every output element is one input element times 1 plus
    exact zeros, so the result is the same to the bit, while the graph has
    batched ``MatMul`` nodes (blocked and threaded in ONNX Runtime) instead
    of ``GatherElements`` / ``ScatterElements`` (element by element, and
    outside ONNX Runtime's NCHWc layout, so each costs two reorders)."""
    if self.num_exchanged == 0:
        return a, b
    index, weight = self.exchanged(a, b)
    batch, channels, height, width = a.shape
    one_hot = _one_hot_channels(index, channels, a.dtype)
    one_hot_a, one_hot_b = one_hot.chunk(2)
    sent_a = (one_hot_a @ a.flatten(2)).view(batch, -1, height, width)
    sent_b = (one_hot_b @ b.flatten(2)).view(batch, -1, height, width)
    if weight is not None:
        weight_a, weight_b = weight[:, :, None, None].chunk(2)
        sent_a, sent_b = sent_a * weight_a, sent_b * weight_b
    received = self.transform(torch.cat([sent_b, sent_a]))
    to_a, to_b = received.chunk(2)

    def put(x, rows, y):
        keep = 1 - rows.sum(1)[:, :, None, None]
        placed = rows.transpose(1, 2) @ y.flatten(2)
        return x * keep + placed.view(batch, channels, height, width)

    return put(a, one_hot_a, to_a), put(b, one_hot_b, to_b)


@contextlib.contextmanager
def exchange_as_matmul(model: nn.Module) -> Iterator[None]:
    """Within the block, every :class:`CrossTaskExchange` of ``model`` runs
    :func:`_exchange_by_matmul` (same results, an export-friendly graph)."""
    modules = [m for m in model.modules() if isinstance(m, CrossTaskExchange)]
    for module in modules:
        module.forward = types.MethodType(_exchange_by_matmul, module)
    try:
        yield
    finally:
        for module in modules:
            del module.forward


def export_onnx(detector: SingleStageDetector,
                out_file: str,
                input_shape: Sequence[int] = (512, 512),
                exporter: str = 'torchscript',
                opset_version: int = 18,
                dynamic: bool = True) -> dict:
    """Export a detector to ONNX with its deployment metadata.

    Cross-task exchanges are traced as :func:`_exchange_by_matmul` (the
    same results, ``MatMul`` instead of ``GatherElements`` and
    ``ScatterElements``).

    Args:
        detector (SingleStageDetector): FCOS, FCOS-Seg or BAFE-Net (see
            :func:`deployment_metadata`), in eval mode, on the CPU.
        out_file (str): The ``.onnx`` file to write.
        input_shape (Sequence[int]): (H, W) of the example input that is
            traced; multiples of the pre-processor's ``pad_size_divisor``.
        exporter (str): ``'torchscript'`` (torch's tracing exporter,
            ``dynamo=False``) or ``'dynamo'`` (the ``torch.export`` one).
        opset_version (int): ONNX opset; 18 is the lowest the dynamo
            exporter writes without converting.
        dynamic (bool): Height and width free in the graph (multiples of
            ``pad_size_divisor``), and with the TorchScript exporter the
            batch size too (the dynamo exporter keeps the batch of 1: it
            specialises the batch dimension of our detectors); else all
            fixed to the example's.

    Returns:
        dict: The metadata written into the model.
    """
    import onnx
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter must be one of {EXPORTERS}, got '
                         f'{exporter!r}')
    metadata = deployment_metadata(detector)
    divisor = metadata['preprocess']['pad_size_divisor']
    height, width = input_shape
    if height % divisor or width % divisor:
        raise ValueError(f'input shape {tuple(input_shape)} must be '
                         f'multiples of pad_size_divisor={divisor}')
    wrapper = TensorModeDetector(detector).eval()
    example = (torch.randn(1, 3, height, width), )
    common = dict(
        opset_version=opset_version,
        input_names=[INPUT_NAME],
        output_names=wrapper.output_names)
    with torch.no_grad(), exchange_as_matmul(wrapper):
        if exporter == 'torchscript':
            torch.onnx.register_custom_op_symbolic('aten::linalg_vecdot',
                                                   _vecdot_symbolic,
                                                   opset_version)
            torch.onnx.export(
                wrapper,
                example,
                out_file,
                dynamo=False,
                dynamic_axes=({
                    INPUT_NAME: {
                        0: 'batch',
                        2: 'height',
                        3: 'width'
                    }
                } if dynamic else None),
                **common)
            model = onnx.load(out_file)
        else:
            dynamic_shapes = None
            if dynamic:
                dim = torch.export.Dim
                dynamic_shapes = {
                    'inputs': {
                        2: divisor * dim('height', min=1, max=8192 // divisor),
                        3: divisor * dim('width', min=1, max=8192 // divisor)
                    }
                }
            program = torch.onnx.export(
                wrapper,
                example,
                dynamo=True,
                dynamic_shapes=dynamic_shapes,
                **common)
            model = program.model_proto
    onnx.helper.set_model_props(model,
                                {METADATA_KEY: json.dumps(metadata)})
    onnx.save(model, out_file)
    return metadata


def read_metadata(props: Dict[str, str], source: str) -> dict:
    """The deployment metadata of an exported model.

    Args:
        props (dict[str, str]): The model's custom metadata map.
        source (str): The model file, for the error message.

    Raises:
        ValueError: Without metadata, or with another layout version.
    """
    if METADATA_KEY not in props:
        raise ValueError(f'{source}: no {METADATA_KEY!r} metadata; export '
                         'the model with tools/deployment/pytorch2onnx.py')
    metadata = json.loads(props[METADATA_KEY])
    version: Optional[int] = metadata.get('version')
    if version != METADATA_VERSION:
        raise ValueError(f'{source}: metadata version {version}, this '
                         f'runner reads version {METADATA_VERSION}')
    return metadata

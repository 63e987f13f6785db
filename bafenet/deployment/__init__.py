"""Deployment: ONNX export and an ONNX Runtime runner (``pip install
bafenet[deploy]`` for onnx and onnxruntime)."""
from .detection_agreement import detection_agreement
from .onnx_export import (TensorModeDetector, deployment_metadata,
                          export_onnx)
from .onnxruntime_detector import ONNXRuntimeDetector

__all__ = [
    'TensorModeDetector', 'deployment_metadata', 'export_onnx',
    'ONNXRuntimeDetector', 'detection_agreement'
]

"""The modes of ``tools/analysis_tools/benchmark.py``, one module each."""
from .data import bench_bagcp, bench_pipeline
from .evaluation import bench_end2end, bench_eval
from .model import bench_channels_last, bench_exchange, bench_model
from .onnx import bench_onnx
from .profiling import bench_profile
from .realtime import bench_realtime

__all__ = [
    'bench_model', 'bench_profile', 'bench_pipeline', 'bench_eval',
    'bench_end2end', 'bench_bagcp', 'bench_exchange', 'bench_onnx',
    'bench_channels_last', 'bench_realtime'
]

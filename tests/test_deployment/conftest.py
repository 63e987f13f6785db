"""Fixtures of the deployment tests."""
import pytest
import torch

from bafenet.apis import init_detector
from tests.conftest import REPO_ROOT

DEMO_CONFIG = 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'


@pytest.fixture(scope='session')
def demo_model(real_root, tmp_path_factory):
    """The make-demo config and a checkpoint of random weights whose scores
    spread over (0, 1) on real frames (so thresholds and NMS act)."""
    from tests.test_deployment.test_onnx_parity import (real_batch,
                                                        spread_outputs)
    tmp = tmp_path_factory.mktemp('demo')
    torch.manual_seed(0)
    config = REPO_ROOT / DEMO_CONFIG
    model = init_detector(config)
    spread_outputs(model, real_batch(real_root, (320, 256)))
    checkpoint = tmp / 'demo.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return config, checkpoint

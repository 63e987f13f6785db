"""The input contract: bit depth (ScaleBitDepth) on real frames rewritten by
fixtures, gray arrays, and the warning for frames far from the input scale."""
import warnings

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config

from bafenet.apis import SkyDetInferencer, inference_detector, init_detector
from bafenet.apis.inference_pipeline import (inference_pipeline_cfg,
                                             set_bit_depth)
from bafenet.apis.input_scale import InputScaleWarning
from bafenet.datasets.transforms.loading import (DarkFrameWarning,
                                                 ScaleBitDepth)
from bafenet.registry import TRANSFORMS
from tests.conftest import REPO_ROOT
from tests.tiny_configs import tiny_bafenet_config

DEMO = REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py'
#: test_v2 frames stored as 8-bit gray, RGB and (trainval_v2) RGBA PNGs.
GRAY, RGB, RGBA = 'Misc_199', 'Misc_53', 'Misc_21'


def frame_path(real_root, name):
    return str(real_root / 'PNGImages' / f'{name}.png')


def to_14_bit(gray8: np.ndarray) -> np.ndarray:
    """An 8-bit frame as a 14-bit sensor would give it: ``v * 16383 / 255``
    rounded, in uint16."""
    return np.round(gray8.astype(np.float64) * 16383 / 255).astype(np.uint16)


@pytest.fixture(scope='module')
def frames_14_bit(real_root, tmp_path_factory):
    """The gray real frame as an 8-bit PNG and as 14-bit values in a 16-bit
    PNG."""
    root = tmp_path_factory.mktemp('bit_depth')
    gray8 = cv2.imread(frame_path(real_root, GRAY), cv2.IMREAD_UNCHANGED)
    assert gray8.dtype == np.uint8 and gray8.ndim == 2
    cv2.imwrite(str(root / 'frame8.png'), gray8)
    cv2.imwrite(str(root / 'frame14.png'), to_14_bit(gray8))
    assert cv2.imread(str(root / 'frame14.png'),
                      cv2.IMREAD_UNCHANGED).dtype == np.uint16
    return root


def load(path, bit_depth=16):
    """The config's loading steps: the stored values, then ScaleBitDepth."""
    results = TRANSFORMS.build(
        dict(type='LoadImageFromFile', color_type='unchanged'))(
            dict(img_path=str(path)))
    return ScaleBitDepth(bit_depth)(results)['img']


def test_8_bit_frames_load_as_before(real_root):
    """Every stored form of DenseSIRST's 8-bit PNGs (gray, RGB, RGBA) gives
    what OpenCV's colour read gave."""
    for name in (GRAY, RGB, RGBA):
        path = frame_path(real_root, name)
        stored = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        assert stored.ndim == 2 if name == GRAY else stored.shape[-1] == (
            3 if name == RGB else 4)
        np.testing.assert_array_equal(load(path), mmcv.imread(path))


def test_14_bit_frame_reads_as_its_8_bit_original(frames_14_bit):
    eight = load(frames_14_bit / 'frame8.png')
    np.testing.assert_array_equal(
        load(frames_14_bit / 'frame14.png', bit_depth=14), eight)
    # Read as 16-bit values, it is dark, and a warning says why.
    with pytest.warns(DarkFrameWarning, match=r'frame14\.png.*bit_depth=16'):
        dark = load(frames_14_bit / 'frame14.png')
    assert dark.max() <= 64 < eight.max()
    # OpenCV's colour read (the configs' read before) kept the top 8 bits.
    assert mmcv.imread(frames_14_bit / 'frame14.png').max() <= 63


def test_values_beyond_the_bit_depth_are_refused(frames_14_bit, tmp_path):
    full = (cv2.imread(str(frames_14_bit / 'frame8.png'),
                       cv2.IMREAD_UNCHANGED).astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / 'frame16.png'), full)
    with pytest.raises(ValueError, match=r'frame16\.png: 16-bit values up '
                       r'to \d+, beyond 14-bit.*at least 16'):
        load(tmp_path / 'frame16.png', bit_depth=14)
    np.testing.assert_array_equal(
        load(tmp_path / 'frame16.png'), load(frames_14_bit / 'frame8.png'))
    with pytest.raises(ValueError, match='float32 pixels'):
        ScaleBitDepth()(dict(img=np.zeros((4, 4), np.float32)))


def test_the_model_gets_the_same_input_from_either_file(
        real_root, frames_14_bit):
    """Through a config's test pipeline, the 14-bit frame under bit_depth=14
    gives the 8-bit frame's input tensor, at native size (the demo config)
    and squashed (BAFE-Net-R18's, to 128x128 here)."""
    for cfg in (Config.fromfile(str(DEMO)), tiny_bafenet_config(real_root)):
        set_bit_depth(cfg, 14)
        pipeline = Compose(inference_pipeline_cfg(cfg))
        eight, fourteen = (pipeline(dict(img_path=str(
            frames_14_bit / name)))['inputs']
                           for name in ('frame8.png', 'frame14.png'))
        assert eight.shape[0] == 3 and eight.dtype == torch.uint8
        torch.testing.assert_close(fourteen, eight, atol=0, rtol=0)


def test_gray_and_16_bit_arrays_work_in_the_inferencer(
        real_root, frames_14_bit):
    torch.manual_seed(0)
    inferencer = SkyDetInferencer(
        tiny_bafenet_config(real_root), show_progress=False)
    path = str(frames_14_bit / 'frame8.png')
    gray = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    from_file = inferencer(path)['predictions'][0]
    for array in (gray, gray[..., None]):
        out = inferencer(array, return_vis=True)
        np.testing.assert_allclose(out['predictions'][0]['scores'],
                                   from_file['scores'], atol=1e-6)
        assert out['visualization'][0].shape == gray.shape + (3, )
    full = gray.astype(np.uint16) * 257
    np.testing.assert_allclose(
        inferencer(full)['predictions'][0]['scores'],
        from_file['scores'],
        atol=1e-6)


def test_frames_far_from_the_input_scale_are_warned_about(real_root):
    """A config that squashes frames to 512x512 warns for a frame resized
    by more than 8x, not for DenseSIRST's own sizes."""
    cfg = tiny_bafenet_config(real_root, scale=512)
    torch.manual_seed(0)
    model = init_detector(cfg)
    frame = mmcv.imread(frame_path(real_root, GRAY))
    with warnings.catch_warnings():
        warnings.simplefilter('error', InputScaleWarning)
        inference_detector(model, frame)
    small = cv2.resize(frame, (60, 40), interpolation=cv2.INTER_AREA)
    with pytest.warns(InputScaleWarning,
                      match=r'60x40 frame is resized by 8\.53 x 12\.80'):
        inference_detector(model, small)


def test_configs_state_their_contract():
    """The pipelines of the configs users start from read frames as stored
    and scale them at once."""
    for name in ('configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py',
                 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py',
                 'configs/_base_/datasets/densesirst-masks.py'):
        cfg = Config.fromfile(str(REPO_ROOT / name))
        for pipeline in (cfg.test_dataloader.dataset.pipeline,
                         cfg.train_pipeline):
            assert [s['type'] for s in pipeline[:2]] == [
                'LoadImageFromFile', 'ScaleBitDepth'
            ], name
            assert pipeline[0].color_type == 'unchanged', name
            assert pipeline[1].bit_depth == 16, name

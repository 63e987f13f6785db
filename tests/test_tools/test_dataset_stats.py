"""dataset_stats.py: the table, the three figures and their numbers, on
real DenseSIRST images."""
import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test import run_tool

TOOL = REPO_ROOT / 'tools/analysis_tools/dataset_stats.py'
FIGURES = ('object_sizes', 'local_contrast', 'brightness')


def load_tool():
    spec = importlib.util.spec_from_file_location('dataset_stats', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_contrast_and_brightness_of_a_drawn_target():
    """A 3x3 target of 200 in a 5x5 box on a flat 100 background, with
    one brighter pixel elsewhere: contrast 2, 1 pixel in 10,000 brighter."""
    tool = load_tool()
    image = np.full((100, 100), 100, dtype=np.uint8)
    image[40:43, 50:53] = 200
    image[90, 90] = 255
    mask = np.zeros_like(image, dtype=bool)
    mask[40:43, 50:53] = True
    # a 5x5 box around the target: its mask pixels are the target's
    contrast, brightness = tool.target_intensity_stats(
        image, mask, np.array([[49, 39, 53, 43]]))
    assert contrast[0] == pytest.approx(2.0)
    assert brightness[0] == pytest.approx(100 / image.size)
    # without mask pixels the whole box counts: (9 * 200 + 16 * 100) / 25
    contrast, _ = tool.target_intensity_stats(image, np.zeros_like(mask),
                                              np.array([[49, 39, 53, 43]]))
    assert contrast[0] == pytest.approx((9 * 200 + 16 * 100) / 25 / 100)


def test_box_offsets_on_a_drawn_mask():
    """A 3x2 target (columns 50-52, rows 40-41): a box holding exactly its
    pixels, one starting a pixel early (as most DenseSIRST boxes), one
    without mask pixels around it."""
    tool = load_tool()
    mask = np.zeros((100, 100), dtype=bool)
    mask[40:42, 50:53] = True
    offsets = tool.box_mask_offsets(
        mask, np.array([[50, 40, 52, 41], [49, 39, 52, 41], [5, 5, 7, 7]]))
    np.testing.assert_allclose(offsets[0], [0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(offsets[1], [1, 1, 0, 0, 0.5, 0.5])
    assert np.isnan(offsets[2]).all()


def test_figures_and_json_on_real_images(real_root, tmp_path):
    ids = (real_root / 'Splits/test_v2.txt').read_text().split()[:16]
    split = tmp_path / 'sixteen.txt'
    split.write_text('\n'.join(ids))
    out_dir = tmp_path / 'out'
    text = run_tool(TOOL, real_root, '--split', split, '--out-dir', out_dir)
    assert '| sixteen | 16 |' in text

    stats = json.loads((out_dir / 'dataset_stats.json').read_text())
    figures = stats['figures']
    boxes = stats['splits']['sixteen']['boxes']
    assert figures['images'] == 16 and figures['images_missing'] == 0
    assert figures['targets'] == figures['targets_measured'] == boxes > 16
    assert sum(n for _, _, n in figures['size_counts']) == boxes
    for name in ('contrast', 'brightness'):
        percent = figures[name]['percent']
        assert len(percent) == 20
        assert sum(percent) == pytest.approx(100)
    # real targets are brighter than their surroundings
    assert 1 < figures['contrast']['median'] < 5
    assert 0 <= figures['brightness']['brightest_in_image'] <= 1
    # the boxes end on their targets' last pixels and mostly start one
    # pixel before their first
    where = figures['box_vs_mask']
    assert where['targets'] == boxes
    assert np.all(np.abs(where['last_minus_x2_y2']) < 0.2)
    assert np.all(np.array(where['first_minus_x1_y1']) > 0.5)
    assert 'boxes on their target masks' in text

    for name in FIGURES:
        with Image.open(out_dir / f'dataset_{name}.png') as png:
            pixels = np.asarray(png.convert('RGB'))
        assert pixels.shape[0] > 300 and pixels.shape[1] > 400
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50

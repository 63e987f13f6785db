"""assigner_coverage.py and the package's positives_per_gt: the head's own
assigner on a drawn case, a clear error for other heads, and the FCOS
ceiling on real DenseSIRST images."""
import importlib.util
import json

import pytest
import torch
from mmengine.config import Config

from bafenet.models.task_modules import positives_per_gt
from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test import run_tool

TOOL = REPO_ROOT / 'tools/analysis_tools/assigner_coverage.py'
FCOS = REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py'
FULLCOV = REPO_ROOT / 'configs/fcos/fcos-fullcov_r18_fpn_20e_densesirst.py'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('assigner_coverage', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def fcos_head(tool):
    return tool.config_assignment(Config.fromfile(FCOS))


def assigned_gts(assignment, img_shape, boxes):
    """(L, G) bool: box g has a positive point on level l."""
    return positives_per_gt(assignment['assigner'], assignment['strides'],
                            assignment['regress_ranges'], img_shape,
                            boxes) > 0


def test_stride_8_points_inside_boxes(tool, fcos_head):
    """P3 points lie at 4, 12, 20, ... px: a box holding (4, 4) strictly
    inside is positive there, one between points is not."""
    boxes = torch.tensor([
        [2., 2., 6., 6.],  # holds (4, 4)
        [5., 5., 11., 11.],  # between 4 and 12
        [4., 4., 8., 8.],  # (4, 4) on its edge
        [10., 18., 14., 22.]
    ])  # holds (12, 20)
    covered = assigned_gts(fcos_head, (64, 64), boxes)
    assert covered.shape == (3, 4)
    assert covered[0].tolist() == [True, False, False, True]
    assert not covered[1:].any()


def test_smaller_box_wins_a_shared_point(tool, fcos_head):
    """Both boxes hold only the point (4, 4); FCOS gives it to the smaller
    box, so the larger one has no positive location."""
    boxes = torch.tensor([[1., 1., 7., 7.], [3., 3., 6., 6.]])
    covered = assigned_gts(fcos_head, (64, 64), boxes)
    assert covered[0].tolist() == [False, True]


def test_unsupported_head_is_named(tool):
    cfg = Config(
        dict(model=dict(bbox_head=dict(
            type='RPNHead',
            in_channels=8,
            anchor_generator=dict(
                type='AnchorGenerator', scales=[8], ratios=[1.0
                                                            ], strides=[8])))))
    with pytest.raises(TypeError, match='RPNHead'):
        tool.config_assignment(cfg)


def test_fcos_ceiling_on_real_test_images(real_root, tmp_path):
    out = tmp_path / 'coverage.json'
    text = run_tool(TOOL, FCOS, '--split', 'test', '--data-root', real_root,
                    '--max-images', 8, '--json', out)
    assert '| P3 | 8 |' in text
    result = json.loads(out.read_text())
    assert result['images'] == 8 and result['boxes'] > 50
    p3, p4, p5 = result['levels']
    # every DenseSIRST target is smaller than 64 px: only P3 assigns
    assert p4['covered'] == p5['covered'] == 0
    assert result['any']['covered'] == p3['covered']
    assert 0.2 < result['any']['fraction'] < 0.5


def test_fullcov_configs_cover_every_test_box(real_root, tmp_path):
    """The full-coverage config covers every box of the first test images,
    and --variants measures each option on the same boxes."""
    out = tmp_path / 'coverage.json'
    text = run_tool(TOOL, FULLCOV, '--split', 'test', '--data-root',
                    real_root, '--max-images', 8, '--variants', 'fcos',
                    'p2', 'fallback', '--json', out)
    assert '| any | | |' in text and '100.0% |' in text
    result = json.loads(out.read_text())
    assert result['any']['fraction'] == 1.0
    assert [level['stride'] for level in result['levels']] == [4, 8, 16, 32]
    assert result['positives_per_box']['mean'] >= 1.0
    variants = result['variants']
    assert list(variants) == ['fcos', 'p2', 'fallback']
    fcos = variants['fcos']
    assert 0.2 < fcos['any']['fraction'] < 0.5
    assert fcos['any']['fraction'] < variants['p2']['any']['fraction'] < 1
    assert variants['fallback']['any']['fraction'] > 0.95


def test_mmdet_fcos_head_assigns_by_its_own_rule(tool):
    """mmdet's FCOSHead has no assigner: its centre sampling makes one."""
    cfg = Config(dict(model=dict(bbox_head=dict(
        type='mmdet.FCOSHead', num_classes=1, in_channels=8,
        center_sampling=True, center_sample_radius=1.0))))
    assignment = tool.config_assignment(cfg)
    assigner = assignment['assigner']
    assert type(assigner).__name__ == 'FCOSPointAssigner'
    assert assigner.center_sampling and assigner.center_sample_radius == 1.0
    assert assignment['strides'] == [4, 8, 16, 32, 64]

"""The synthetic DenseSIRST generator used by the demo."""
import numpy as np
from PIL import Image

from bafenet.datasets import DenseSIRSTDataset
from bafenet.testing import generate_synthetic_densesirst

LAYOUT = ('PNGImages', 'SIRST/BBox', 'SIRST/BinaryMask', 'SIRST/PaletteMask',
          'SIRST/Point_label', 'SkySeg/BinaryMask', 'SkySeg/PaletteMask',
          'Splits')


def test_same_seed_same_files(tmp_path):
    a = tmp_path / 'a'
    b = tmp_path / 'b'
    generate_synthetic_densesirst(str(a), num_images=8, seed=3)
    generate_synthetic_densesirst(str(b), num_images=8, seed=3)
    files_a = sorted(p.relative_to(a) for p in a.rglob('*') if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob('*') if p.is_file())
    assert files_a == files_b
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)
    generate_synthetic_densesirst(
        str(tmp_path / 'c'), num_images=8, seed=4)
    assert (a / 'PNGImages/Synth_1.png').read_bytes() != (
        tmp_path / 'c/PNGImages/Synth_1.png').read_bytes()


def test_layout_matches_the_real_dataset(tmp_path, real_root):
    root = tmp_path / 'SIRSTdevkit'
    generate_synthetic_densesirst(str(root), num_images=16, seed=0)
    for folder in LAYOUT:
        assert (real_root / folder).is_dir() and (root / folder).is_dir()
    real_splits = {p.name for p in (real_root / 'Splits').iterdir()}
    assert {p.name for p in (root / 'Splits').iterdir()} == real_splits
    img_id = 'Synth_1'
    for rel in (f'SIRST/BinaryMask/{img_id}_pixels0.png',
                f'SIRST/BinaryMask/{img_id}.xml',
                f'SIRST/Point_label/{img_id}_pixels0.txt',
                f'SkySeg/BinaryMask/{img_id}_pixels0.png',
                f'SkySeg/BinaryMask/{img_id}.xml'):
        assert (root / rel).is_file(), rel
    with Image.open(root / f'SkySeg/PaletteMask/{img_id}.png') as seg:
        assert seg.mode == 'P'
        assert seg.getpalette()[:6] == [0, 0, 0, 128, 0, 0]
    with Image.open(root / f'PNGImages/{img_id}.png') as img:
        assert img.mode == 'L'


def test_output_loads_and_targets_are_in_sky(tmp_path):
    root = tmp_path / 'SIRSTdevkit'
    splits = generate_synthetic_densesirst(str(root), num_images=16, seed=1)
    dataset = DenseSIRSTDataset(
        data_root=str(root), ann_file='Splits/trainval_v2.txt', pipeline=[])
    assert len(dataset) == len(splits['trainval_v2']) == 12
    sizes, in_sky = [], []
    for info in dataset:
        sky = np.asarray(Image.open(info['seg_map_path']))
        for inst in info['instances']:
            x1, y1, x2, y2 = (int(v) for v in inst['bbox'])
            sizes.append((x2 - x1 + 1, y2 - y1 + 1))
            in_sky.append(sky[y1:y2 + 1, x1:x2 + 1].all())
    sizes = np.array(sizes)
    assert len(sizes) >= 12 * 3
    assert sizes.min() >= 2 and sizes.max() <= 6
    assert all(in_sky)

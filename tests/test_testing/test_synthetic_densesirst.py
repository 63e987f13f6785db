"""The synthetic DenseSIRST generator used by the demo."""
import json
import subprocess
import sys

import numpy as np
from PIL import Image

from bafenet.datasets import DenseSIRSTDataset
from bafenet.testing import generate_synthetic_densesirst, synthetic_record
from tests.conftest import REPO_ROOT

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


def test_test_split_is_held_out(tmp_path):
    root = tmp_path / 'SIRSTdevkit'
    splits = generate_synthetic_densesirst(str(root), num_images=16, seed=0)
    train, val, test = (set(splits[f'{name}_v2'])
                        for name in ('train', 'val', 'test'))
    assert len(train) == 8 and len(val) == 4 and len(test) == 4
    assert not (train & test or val & test or train & val)
    assert splits['trainval_v2'] == splits['train_v2'] + splits['val_v2']
    for name, ids in splits.items():
        assert (root / 'Splits' / f'{name}.txt').read_text().split() == ids
    # no held-out frame repeats a training frame
    pixels = {
        img_id: (root / 'PNGImages' / f'{img_id}.png').read_bytes()
        for img_id in train | test
    }
    assert not {pixels[i] for i in test} & {pixels[i] for i in train}


def test_boxes_are_the_visible_targets(tmp_path):
    root = tmp_path / 'SIRSTdevkit'
    generate_synthetic_densesirst(str(root), num_images=8, seed=2)
    dataset = DenseSIRSTDataset(
        data_root=str(root), ann_file='Splits/trainval_v2.txt', pipeline=[])
    contrasts = []
    for info in dataset:
        img_id = info['img_id']
        image = np.asarray(Image.open(info['img_path']), np.float32)
        mask = np.asarray(
            Image.open(root / f'SIRST/BinaryMask/{img_id}_pixels0.png')) > 0
        for inst in info['instances']:
            x1, y1, x2, y2 = (int(v) for v in inst['bbox'])
            target = mask[y1:y2 + 1, x1:x2 + 1]
            # the box is tight around the target's mask pixels
            assert target[0].any() and target[-1].any()
            assert target[:, 0].any() and target[:, -1].any()
            around = image[max(y1 - 6, 0):y2 + 7, max(x1 - 6, 0):x2 + 7]
            contrasts.append(image[y1:y2 + 1, x1:x2 + 1].max() -
                             np.median(around))
    # bright enough to be seen, like the real targets (TARGET_CONTRAST)
    assert np.percentile(contrasts, 10) > 20
    assert 50 < np.median(contrasts) < 100


def test_demo_keeps_current_data_and_replaces_stale(tmp_path):
    """tools/run_demo.sh's call: write once, keep while current, rewrite
    data of another generator version, never touch a foreign folder."""
    root = tmp_path / 'SIRSTdevkit'

    def generate():
        return subprocess.run([
            sys.executable, 'tools/misc/generate_demo_dataset.py',
            str(root), '--num-images', '8', '--keep-current'
        ],
                              cwd=REPO_ROOT,
                              capture_output=True,
                              text=True)

    assert 'wrote 8 images' in generate().stdout
    record = root / 'synthetic.json'
    assert json.loads(record.read_text()) == synthetic_record(8, 0)
    image = root / 'PNGImages/Synth_1.png'
    pixels = image.read_bytes()
    image.write_bytes(b'marker')  # kept: not rewritten
    assert 'kept' in generate().stdout
    assert image.read_bytes() == b'marker'
    stale = dict(synthetic_record(8, 0), version=1)
    record.write_text(json.dumps(stale))
    (root / 'PNGImages/Synth_99.png').write_bytes(b'old frame')
    assert 'replacing' in generate().stdout
    assert image.read_bytes() == pixels
    assert not (root / 'PNGImages/Synth_99.png').exists()
    assert json.loads(record.read_text()) == synthetic_record(8, 0)
    record.unlink()
    proc = generate()
    assert proc.returncode != 0
    assert 'has no synthetic.json' in proc.stderr
    assert image.read_bytes() == pixels

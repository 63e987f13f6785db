"""tools/misc/check_dataset.py on the real DenseSIRST and on a broken copy of
a few real samples; training on the broken copy fails at dataset build time
with the validator's messages."""
import importlib.util
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT

FOLDERS = (('PNGImages', '.png'), ('SIRST/BBox', '.xml'),
           ('SkySeg/PaletteMask', '.png'))


def run(*args):
    proc = subprocess.run([sys.executable, *map(str, args)],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_real_dataset(real_root):
    """train_v2 and test_v2 are clean; val_v2 lacks exactly the images that
    are not yet in shared/ (none once they are)."""
    code, output = run('tools/misc/check_dataset.py', real_root, '--split',
                       'train_v2', 'test_v2', 'val_v2')
    splits = real_root / 'Splits'
    assert f'{splits}/train_v2.txt: 512 valid sample(s), 0 problem(s)' \
        in output
    assert f'{splits}/test_v2.txt: 256 valid sample(s), 0 problem(s)' \
        in output
    missing = [
        real_root / 'PNGImages' / f'{i}.png'
        for i in (splits / 'val_v2.txt').read_text().split()
        if not (real_root / 'PNGImages' / f'{i}.png').exists()
    ]
    assert (f'{splits}/val_v2.txt: {256 - len(missing)} valid sample(s), '
            f'{len(missing)} problem(s)') in output
    problems = [line for line in output.splitlines() if ': missing' in line]
    assert problems == [f'{path}: missing image' for path in missing]
    assert f'{len(missing)} problem(s) in total' in output
    assert code == (1 if missing else 0)


def break_missing_image(root, i):
    (root / f'PNGImages/{i}.png').unlink()


def break_truncated_image(root, i):
    path = root / f'PNGImages/{i}.png'
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def break_malformed_xml(root, i):
    path = root / f'SIRST/BBox/{i}.xml'
    path.write_text(path.read_text()[:-30])


def edit_xml(root, i, old, new):
    path = root / f'SIRST/BBox/{i}.xml'
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def break_box_outside(root, i):
    path = root / f'SIRST/BBox/{i}.xml'
    text = path.read_text()
    start = text.index('<xmax>') + len('<xmax>')
    path.write_text(text[:start] + '99999' + text[text.index('</xmax>'):])


def break_degenerate_box(root, i):
    path = root / f'SIRST/BBox/{i}.xml'
    text = path.read_text()
    xmin = text[text.index('<xmin>') + 6:text.index('</xmin>')]
    start = text.index('<xmax>') + len('<xmax>')
    path.write_text(text[:start] + xmin + text[text.index('</xmax>'):])


def break_unknown_class(root, i):
    edit_xml(root, i, '<name>Target</name>', '<name>Bird</name>')


def break_sky_size(root, i):
    path = root / f'SkySeg/PaletteMask/{i}.png'
    with Image.open(path) as seg:
        seg.resize((seg.width + 1, seg.height)).save(path)


def break_sky_values(root, i):
    path = root / f'SkySeg/PaletteMask/{i}.png'
    with Image.open(path) as seg:
        values = np.asarray(seg).copy()
        palette = seg.getpalette()
    values[:4, :4] = 7
    broken = Image.fromarray(values, mode='P')
    broken.putpalette(palette)
    broken.save(path)


#: One fault per sample: how to break it, the broken file (``{id}`` filled
#: in) and a phrase of its problem.
FAULTS = [
    (break_missing_image, 'PNGImages/{id}.png', 'missing image'),
    (break_truncated_image, 'PNGImages/{id}.png', 'unreadable image'),
    (break_malformed_xml, 'SIRST/BBox/{id}.xml', 'malformed XML'),
    (break_box_outside, 'SIRST/BBox/{id}.xml', 'lies outside the'),
    (break_degenerate_box, 'SIRST/BBox/{id}.xml', 'is degenerate'),
    (break_unknown_class, 'SIRST/BBox/{id}.xml', "unknown class name 'Bird'"),
    (break_sky_size, 'SkySeg/PaletteMask/{id}.png',
     'differs from its image size'),
    (break_sky_values, 'SkySeg/PaletteMask/{id}.png',
     'sky map holds values [7]'),
]


@pytest.fixture(scope='module')
def broken(real_root, tmp_path_factory):
    """A SIRSTdevkit folder of 10 real samples, 8 broken one fault each, and
    split faults: an id without files, a duplicate id and an unlisted file.

    Returns:
        tuple: The folder and the expected ``(file, phrase)`` problems of the
        split ``s`` and of the whole dataset.
    """
    root = tmp_path_factory.mktemp('broken') / 'SIRSTdevkit'
    ids = (real_root / 'Splits/test_v2.txt').read_text().split()[:11]
    for folder, suffix in FOLDERS:
        (root / folder).mkdir(parents=True)
        for i in ids:
            shutil.copy(real_root / folder / f'{i}{suffix}',
                        root / folder / f'{i}{suffix}')
    expected = []
    for (fault, path, phrase), i in zip(FAULTS, ids):
        fault(root, i)
        expected.append((str(root / path.format(id=i)), phrase))
    listed = ids[:10]
    (root / 'Splits').mkdir()
    split = root / 'Splits/s.txt'
    split.write_text('\n'.join(listed + ['ghost', listed[-1]]))
    expected.append((f'{split}:11', "id 'ghost' has no files"))
    expected.append((f'{split}:12', f'duplicate id {listed[-1]!r} '
                     '(first on line 10)'))
    unlisted = [(str(root / folder / f'{ids[10]}{suffix}'), 'in no split')
                for folder, suffix in FOLDERS]
    return root, expected, unlisted


def problem_lines(output, root):
    return [line for line in output.splitlines() if line.startswith(str(root))
            and 'valid sample(s)' not in line]


def test_validator_names_each_fault(broken):
    root, expected, unlisted = broken
    code, output = run('tools/misc/check_dataset.py', root)
    assert code == 1
    problems = problem_lines(output, root)
    assert len(problems) == len(expected) + len(unlisted), output
    for path, phrase in expected + unlisted:
        assert any(p.startswith(f'{path}: ') and phrase in p
                   for p in problems), (path, phrase, output)
    assert f'{len(problems)} problem(s) in total' in output


def test_training_fails_at_dataset_build_with_the_same_messages(
        broken, real_root):
    root, expected, _ = broken
    _, checked = run('tools/misc/check_dataset.py', root, '--split', 's')
    code, output = run(
        'tools/train.py',
        REPO_ROOT / 'configs/fcos/fcos_r18_fpn_20e_densesirst.py',
        '--data-root', root, '--work-dir', root.parent / 'work',
        '--cfg-options', 'model.backbone.init_cfg=None',
        'train_dataloader.dataset.dataset.dataset.ann_file=Splits/s.txt')
    assert code != 0
    # Unlisted files are no concern of a dataset built from one split.
    problems = [
        p for p in problem_lines(checked, root) if 'in no split' not in p
    ]
    assert len(problems) == len(expected)
    assert (f'bafenet.datasets.validation.DatasetError: {len(problems)} '
            'problem(s) in the dataset:') in output
    for problem in problems:
        assert f'\n  {problem}\n' in output + '\n', problem
    # Raised while the dataset is built, before any sample is transformed.
    assert 'load_data_list' in output
    assert 'transforms' not in output and 'Iter(train)' not in output


def test_a_folder_that_is_not_a_dataset_fails_with_the_layout(tmp_path):
    """No split file and no images: say what was expected, exit 1."""
    (tmp_path / 'photos').mkdir()
    (tmp_path / 'photos' / 'cat.jpg').write_bytes(b'not a png')
    code, output = run('tools/misc/check_dataset.py', tmp_path)
    assert code == 1
    assert output.splitlines()[:4] == [
        f'{tmp_path}/Splits: no such folder (expected the split files '
        '<split>.txt, one image id per line)',
        f'{tmp_path}/PNGImages: no such folder (expected the images '
        '<id>.png)',
        f'{tmp_path}/SIRST/BBox: no such folder (expected the box '
        'annotations <id>.xml)',
        f'{tmp_path}/SkySeg/PaletteMask: no such folder (expected the sky '
        'maps <id>.png)',
    ]
    assert (f'{tmp_path} is not a dataset in the DenseSIRST layout: expected '
            'Splits/<split>.txt (one image id per line), PNGImages/<id>.png, '
            'SIRST/BBox/<id>.xml and SkySeg/PaletteMask/<id>.png') in output
    assert '0 problem(s) in total' not in output


def test_a_dataset_without_split_files_fails(real_root, tmp_path, capsys):
    """Real folders but an empty Splits/: nothing to check is a problem."""
    spec = importlib.util.spec_from_file_location(
        'check_dataset', REPO_ROOT / 'tools/misc/check_dataset.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for folder, _ in FOLDERS:
        (tmp_path / folder).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / folder).symlink_to(real_root / folder)
    (tmp_path / 'Splits').mkdir()
    assert tool.check_dataset(str(tmp_path), []) == 1
    output = capsys.readouterr().out
    assert (f'{tmp_path}/Splits: no split file (expected <split>.txt, one '
            'image id per line)') in output
    assert 'valid sample(s)' not in output

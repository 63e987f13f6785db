"""recall_ceiling.py in a tiny setting: three detectors trained and
evaluated on the same real images, with the coverage of their
assignment."""
import json

from tests.test_tools.test_train_test import run_tool


def test_ceiling_mode_tiny(real_root, tmp_path):
    out = tmp_path / 'ceiling.json'
    text = run_tool('tools/analysis_tools/recall_ceiling.py', '--data-root', real_root, '--num-images', 2, '--iters',
                    3, '--width', 8, '--shape', 256, 256, '--crop', 96,
                    '--json', out)
    assert 'FCOS-R18 (paper assignment)' in text
    assert '96x96 windows' in text
    figures = json.loads(out.read_text())
    assert figures['images'] == 2 and figures['boxes'] >= 4
    models = figures['models']
    assert list(models) == [
        'FCOS-R18 (paper assignment)', 'FCOS-R18 full coverage',
        'BAFE-Net-R18 full coverage'
    ]
    # at 256 x 256 the targets are 1-3 px: FCOS covers few of them
    assert models['FCOS-R18 (paper assignment)']['coverage'] < 0.5
    for name, row in models.items():
        assert len(row['losses']) == 3, name
        assert 0.0 <= row['recall07'] <= 1.0 and 0.0 <= row['mAP07'] <= 1.0
        if 'full coverage' in name:
            assert row['coverage'] == 1.0, name

"""The analysis tools run on tiny real settings and print what they promise
(figures are checked for form, never for speed)."""
import json

from PIL import Image

from tests.test_tools.test_train_test import run_tool

BAFENET = 'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py'


def test_get_flops(tmp_path):
    output = run_tool('tools/analysis_tools/get_flops.py', BAFENET,
                      '--shape', 64, 64)
    assert 'FLOPs:' in output and 'Params: 21.712 M' in output
    assert 'head.exchange' in output


def test_benchmark_modes(real_root, tmp_path):
    common = ('--data-root', real_root, '--split', 'Splits/mini_test.txt',
              '--num-samples', 2, '--repeat', 1)
    for mode in ('pipeline', 'bagcp'):
        out = tmp_path / f'{mode}.json'
        run_tool('tools/analysis_tools/benchmark.py', mode, *common,
                 '--json', out)
        figures = json.loads(out.read_text())
        assert figures['mode'] == mode
    assert figures['speedup'] > 0
    out = tmp_path / 'exchange.json'
    text = run_tool('tools/analysis_tools/benchmark.py', 'exchange',
                    '--shape', 64, 64, '--repeat', 1, '--json', out)
    assert 'exchange / no exchange' in text
    assert json.loads(out.read_text())['ratio'] > 0


def test_browse_dataset_draws_pasted_targets(real_root, tmp_path):
    text = run_tool(
        'tools/analysis_tools/browse_dataset.py', BAFENET, '--output-dir',
        tmp_path, '--data-root', real_root, '--num', 2, '--cfg-options',
        'train_dataloader.dataset.dataset.dataset.ann_file='
        'Splits/mini_test.txt')
    pictures = sorted(tmp_path.glob('*.png'))
    assert len(pictures) == 2
    for picture in pictures:
        with Image.open(picture) as img:
            assert img.size == (512, 512)
    assert 'pasted' in text


def test_dataset_stats(real_root):
    text = run_tool('tools/analysis_tools/dataset_stats.py', real_root,
                    '--split', 'mini_test')
    assert '| mini_test | 4 |' in text

"""``realtime`` mode: frames per second and latency of one trained detector
on whole frames, batch 1, in PyTorch (contiguous and channels-last) and ONNX
Runtime (float32 with all graph optimisations, int8), at 1 and 2 threads;
with ``--map`` the same models' mAP07 on the whole test split; with
``--profile`` where ONNX Runtime's time goes, per operator."""
import copy
import json
import os
import os.path as osp
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator

from bafenet.apis import init_detector
from bafenet.deployment import (ONNXRuntimeDetector, deployment_metadata,
                                export_onnx)
from bafenet.deployment.fcos_postprocess import (decode_detections,
                                                 sky_probability)
from bafenet.deployment.quantization import config_frames, quantize_int8
from bafenet.utils import load_config

#: The model variants timed; each runs at every thread count of --threads.
VARIANTS = ('PyTorch', 'PyTorch channels-last', 'ORT fp32', 'ORT int8',
            'ORT int8 boxes only')
#: The variants whose mAP07 --map measures (the others compute the same
#: boxes: channels-last the same arithmetic in another order, boxes only
#: the int8 model without its sky map).
MAP_VARIANTS = ('PyTorch', 'ORT fp32', 'ORT int8')


def parse_size(text: str):
    """``'640x512'`` (width x height) -> (640, 512)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'--sizes takes WIDTHxHEIGHT, got {text!r}')
    return width, height


def frames_of_size(dataset, size, count: int) -> List[int]:
    """Indices of the first ``count`` frames of ``dataset`` whose original
    size is ``size`` (W, H)."""
    width, height = size
    found = [
        i for i in range(len(dataset))
        if (dataset.get_data_info(i)['width'],
            dataset.get_data_info(i)['height']) == (width, height)
    ]
    if not found:
        raise ValueError(f'no {width}x{height} frame in '
                         f'{dataset.ann_file}')
    return found[:count]


def build_models(cfg, model, tmp: str, config: str, onnx: Optional[str],
                 onnx_int8: Optional[str], calib_split: str,
                 calib_images: int,
                 ort_spinning: bool) -> Dict[str, Callable]:
    """The float32 and int8 ONNX files (exported, or given) and a
    ``factory(variant, threads)`` of test-step callables.

    Args:
        cfg (Config): The loaded config.
        model (nn.Module): The trained detector.
        tmp (str): Folder for the exported files.
        config (str): The config file, for the runners' messages.
        onnx, onnx_int8 (str, optional): Given float32 and int8 files;
            None exports / quantises.
        calib_split (str): The split whose frames calibrate int8.
        calib_images (int): How many of them.
        ort_spinning (bool): Let ONNX Runtime's idle threads spin.
    """
    fp32_file = onnx or osp.join(tmp, 'model.onnx')
    if not onnx:
        export_onnx(model, fp32_file, input_shape=(512, 640))
    expected = deployment_metadata(model)
    calibrated = None
    int8_file = onnx_int8 or osp.join(tmp, 'model_int8.onnx')
    if not onnx_int8:
        reader = ONNXRuntimeDetector(fp32_file)
        frames = config_frames(cfg, calib_split, calib_images)
        start = time.perf_counter()
        quantize_int8(
            fp32_file,
            int8_file,
            (reader.preprocess([frames[i]['inputs'].numpy()])
             for i in range(len(frames))),
            calibration_info=dict(
                split=calib_split, num_images=len(frames)))
        calibrated = dict(
            split=calib_split,
            num_images=len(frames),
            seconds=time.perf_counter() - start)
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def pytorch(net, threads):
        def step(data):
            torch.set_num_threads(threads)
            with torch.no_grad():
                return net.test_step(data)

        return step

    def onnxruntime(onnx_file, threads, sky_map=True):
        runner = ONNXRuntimeDetector(
            onnx_file,
            num_threads=threads,
            spinning=ort_spinning,
            sky_map=sky_map)
        runner.adopt_settings(expected, config)
        return runner.test_step

    def factory(variant: str, threads: int) -> Callable:
        return {
            'PyTorch': lambda: pytorch(model, threads),
            'PyTorch channels-last': lambda: pytorch(channels_last, threads),
            'ORT fp32': lambda: onnxruntime(fp32_file, threads),
            'ORT int8': lambda: onnxruntime(int8_file, threads),
            'ORT int8 boxes only':
            lambda: onnxruntime(int8_file, threads, sky_map=False),
        }[variant]()

    return dict(
        factory=factory,
        fp32_file=fp32_file,
        int8_file=int8_file,
        calibration=calibrated)


def time_variants(steps: Dict[str, Callable], frames: Dict[str, list],
                  repeat: int) -> Dict[str, Dict[str, List[tuple]]]:
    """Wall and CPU seconds of every call, per size and variant: ``repeat``
    passes over the frames of each size, and within a frame every variant
    in turn (so all variants see the same moments of a loaded machine),
    after one warm-up call of each."""
    seconds = {
        size: {name: []
               for name in steps}
        for size in frames
    }
    for size, batches in frames.items():
        for step in steps.values():
            step(copy.deepcopy(batches[0]))
    for _ in range(repeat):
        for size, batches in frames.items():
            for batch in batches:
                for name, step in steps.items():
                    data = copy.deepcopy(batch)
                    cpu, start = time.process_time(), time.perf_counter()
                    step(data)
                    seconds[size][name].append(
                        (time.perf_counter() - start,
                         time.process_time() - cpu))
    return seconds


def latency_figures(runs: List[tuple]) -> dict:
    """fps (frames over their total wall time), wall latency (median, p90,
    min) and the median CPU time of the process (all its threads) per
    frame, from (wall, CPU) seconds."""
    ms = np.asarray(runs) * 1000
    wall, cpu = ms[:, 0], ms[:, 1]
    return dict(
        median_ms=float(np.median(wall)),
        p90_ms=float(np.percentile(wall, 90)),
        min_ms=float(wall.min()),
        cpu_ms=float(np.median(cpu)),
        fps=float(1000 / wall.mean()),
        runs=len(wall))


def stage_breakdown(runner: ONNXRuntimeDetector, batches: list,
                    repeat: int) -> Dict[str, float]:
    """Median milliseconds of the runner's stages on the frames:
    pre-processing, the graph, box decoding and NMS, the sky map."""
    parts = defaultdict(list)
    for _ in range(repeat):
        for data in batches:
            images = [np.asarray(img) for img in data['inputs']]
            metas = [s.metainfo for s in data['data_samples']]
            start = time.perf_counter()
            batch = runner.preprocess(images)
            t1 = time.perf_counter()
            out = runner.forward(batch)
            t2 = time.perf_counter()
            levels = range(len(runner.metadata['strides']))
            decode_detections(
                [out[f'cls_score_{lvl}'][0] for lvl in levels],
                [out[f'bbox_pred_{lvl}'][0] for lvl in levels],
                [out[f'centerness_{lvl}'][0] for lvl in levels],
                runner.metadata['strides'], metas[0],
                runner.metadata['test_cfg'])
            t3 = time.perf_counter()
            if 'sky_logit' in out:
                sky_probability(out['sky_logit'][0, 0], batch.shape[2:],
                                metas[0])
            t4 = time.perf_counter()
            for key, value in (('preprocess', t1 - start),
                               ('graph', t2 - t1), ('decode_nms', t3 - t2),
                               ('sky_map', t4 - t3)):
                parts[key].append(value * 1000)
    return {key: statistics.median(v) for key, v in parts.items()}


def node_profile(onnx_file: str, threads: int, batches: list,
                 tmp: str) -> dict:
    """ONNX Runtime's per-node profile of the graph on the frames:
    milliseconds per run by operator type, and the ten costliest nodes."""
    import onnxruntime as ort
    runner = ONNXRuntimeDetector(onnx_file, num_threads=threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.enable_profiling = True
    options.profile_file_prefix = osp.join(tmp, 'profile')
    session = ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])
    inputs = [
        runner.preprocess([np.asarray(img) for img in data['inputs']])
        for data in batches
    ]
    for batch in inputs:
        session.run(None, {runner.metadata['input_name']: batch})
    with open(session.end_profiling()) as f:
        events = json.load(f)
    by_op, by_node = defaultdict(float), defaultdict(float)
    for event in events:
        if event.get('cat') == 'Node' and event['name'].endswith(
                '_kernel_time'):
            op = event['args']['op_name']
            by_op[op] += event['dur'] / 1000 / len(inputs)
            by_node[f'{event["name"][:-12]} ({op})'] += (
                event['dur'] / 1000 / len(inputs))
    total = sum(by_op.values())
    return dict(
        total_ms=total,
        by_op_ms=dict(sorted(by_op.items(), key=lambda kv: -kv[1])),
        top_nodes_ms=dict(
            sorted(by_node.items(), key=lambda kv: -kv[1])[:10]))


def evaluate(step: Callable, dataset, evaluator: Evaluator) -> dict:
    for i in range(len(dataset)):
        data = pseudo_collate([dataset[i]])
        evaluator.process(data_samples=step(data), data_batch=data)
    return evaluator.evaluate(len(dataset))


def bench_realtime(*,
                   config: str,
                   checkpoint: str,
                   test_split: str,
                   sizes: Sequence[str],
                   frames: int,
                   repeat: int,
                   threads: Sequence[int],
                   variants: Sequence[str],
                   calib_split: str,
                   calib_images: int,
                   data_root: Optional[str] = None,
                   cfg_options: Optional[dict] = None,
                   onnx: Optional[str] = None,
                   onnx_int8: Optional[str] = None,
                   ort_spinning: bool = False,
                   profile: bool = False,
                   with_map: bool = False) -> dict:
    """The ``realtime`` mode; prints its table.

    Args:
        config (str): The config file of the trained detector.
        checkpoint (str): Its weights.
        test_split (str): The split whose frames are timed.
        sizes (Sequence[str]): Frame sizes ``WxH`` timed.
        frames (int): Frames of each size.
        repeat (int): Timed runs.
        threads (Sequence[int]): Thread counts of every variant.
        variants (Sequence[str]): The models timed (``VARIANTS``).
        calib_split (str): The split whose frames calibrate int8.
        calib_images (int): How many of them.
        data_root (str, optional): The data root; None: the config's.
        cfg_options (dict, optional): Overrides of the config.
        onnx, onnx_int8 (str, optional): Given float32 and int8 files.
        ort_spinning (bool): Let ONNX Runtime's idle threads spin.
        profile (bool): Also ONNX Runtime's per-node profile.
        with_map (bool): Also the mAP07 of PyTorch, ORT fp32 and int8 on every
            frame of ``test_split``.

    Returns:
        dict: The figures.
    """
    if not checkpoint:
        raise ValueError('realtime mode needs --checkpoint (a trained '
                         'model: its boxes decide the post-process time)')
    cfg = load_config(config, cfg_options, data_root)
    model = init_detector(cfg, checkpoint)
    test_set = config_frames(cfg, test_split)
    parsed_sizes = [parse_size(s) for s in sizes]
    batches_by_size = {
        f'{w}x{h}': [
            pseudo_collate([test_set[i]])
            for i in frames_of_size(test_set, (w, h), frames)
        ]
        for w, h in parsed_sizes
    }
    for key, batches in batches_by_size.items():
        for data in batches:
            shape = data['data_samples'][0].ori_shape
            if f'{shape[1]}x{shape[0]}' != key:
                raise ValueError(f'{data["data_samples"][0].img_path}: '
                                 f'the image is {shape[1]}x{shape[0]}, its '
                                 f'annotation says {key}')
    figures = dict(
        checkpoint=checkpoint,
        test_split=test_split,
        frames={k: [b['data_samples'][0].img_path for b in v]
                for k, v in batches_by_size.items()},
        repeat=repeat,
        threads=threads,
        ort_spinning=ort_spinning)
    with tempfile.TemporaryDirectory() as tmp:
        built = build_models(cfg, model, tmp, config, onnx, onnx_int8,
                             calib_split, calib_images, ort_spinning)
        figures['calibration'] = built['calibration']
        steps = {
            f'{variant}, {thread_count} thr':
            built['factory'](variant, thread_count)
            for variant in variants for thread_count in threads
        }
        load_before = os.getloadavg()
        seconds = time_variants(steps, batches_by_size, repeat)
        load_after = os.getloadavg()
        figures['load_1min'] = [load_before[0], load_after[0]]
        table = {
            size: {name: latency_figures(runs)
                   for name, runs in by_name.items()}
            for size, by_name in seconds.items()
        }
        for size, rows in table.items():
            for name, row in rows.items():
                thread_label = name.rsplit(', ', 1)[1]
                reference = rows.get(f'PyTorch, {thread_label}')
                row['x_pytorch'] = (reference['median_ms'] / row['median_ms']
                                    if reference else None)
                row['x_pytorch_cpu'] = (reference['cpu_ms'] / row['cpu_ms']
                                        if reference else None)
        figures['latency'] = table
        key = next(iter(batches_by_size))
        stage_runner = ONNXRuntimeDetector(
            built['int8_file'],
            num_threads=max(threads),
            spinning=ort_spinning)
        figures['int8_stages_ms'] = {
            key: stage_breakdown(stage_runner, batches_by_size[key], repeat)
        }
        if profile:
            figures['profile'] = {
                name: node_profile(built[f'{name}_file'], max(threads),
                                   batches_by_size[key], tmp)
                for name in ('fp32', 'int8')
            }
            figures['profile_size'] = key
        if with_map:
            figures['accuracy'] = {}
            for variant in MAP_VARIANTS:
                evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
                evaluator.dataset_meta = test_set.metainfo
                metrics = evaluate(built['factory'](variant,
                                                    max(threads)),
                                   test_set, evaluator)
                figures['accuracy'][variant] = {
                    k.split('/')[-1]: v
                    for k, v in metrics.items()
                    if k.split('/')[-1] in ('mAP07', 'mAP12', 'F1', 'Pd',
                                            'Fa_per_image', 'sky_IoU')
                }
    print_realtime(figures, len(test_set), config, checkpoint, test_split,
                   repeat, threads, ort_spinning)
    return figures


def print_realtime(figures: dict, num_test: int, config: str,
                   checkpoint: str, test_split: str, repeat: int,
                   threads: Sequence[int], ort_spinning: bool) -> None:
    print(f'{config} ({checkpoint}): whole frames of '
          f'{test_split}, batch 1, test_step (pre-processing, forward, '
          f'post-process, sky map unless "boxes only"); {repeat} '
          'passes over the frames after a warm-up, every variant in turn on '
          'each frame; ORT threads '
          f'{"spin" if ort_spinning else "do not spin"} when idle')
    for size, rows in figures['latency'].items():
        print(f'\n{size} ({len(figures["frames"][size])} frames)')
        print(f'{"variant":<32}{"fps":>7}{"median ms":>11}{"p90 ms":>9}'
              f'{"min ms":>9}{"CPU ms":>9}{"x PyTorch":>11}{"(CPU)":>7}')
        for name, row in rows.items():
            ratio, cpu_ratio = row['x_pytorch'], row['x_pytorch_cpu']
            print(f'{name:<32}{row["fps"]:>7.1f}{row["median_ms"]:>11.1f}'
                  f'{row["p90_ms"]:>9.1f}{row["min_ms"]:>9.1f}'
                  f'{row["cpu_ms"]:>9.1f}'
                  f'{(f"{ratio:.2f}" if ratio else "-"):>11}'
                  f'{(f"{cpu_ratio:.2f}" if cpu_ratio else "-"):>7}')
    for size, stages in figures['int8_stages_ms'].items():
        print(f'\nORT int8 ({max(threads)} thr) at {size}, median ms '
              'per stage: ' + ', '.join(f'{k} {v:.1f}'
                                        for k, v in stages.items()))
    for name, profile in figures.get('profile', {}).items():
        print(f'\nper-node profile, ORT {name}, {figures["profile_size"]}, '
              f'{max(threads)} thr: {profile["total_ms"]:.1f} ms of '
              'kernels per frame')
        for op, ms in list(profile['by_op_ms'].items())[:8]:
            print(f'  {op:<28}{ms:>8.2f} ms {ms / profile["total_ms"]:>6.1%}')
        print('  costliest nodes: ' + '; '.join(
            f'{n} {ms:.2f}' for n, ms in list(
                profile['top_nodes_ms'].items())[:5]))
    if 'accuracy' in figures:
        print(f'\naccuracy on all {num_test} frames of {test_split}:')
        reference = figures['accuracy']['PyTorch']['mAP07']
        for name, metrics in figures['accuracy'].items():
            print(f'{name:<12}' + ', '.join(
                f'{k} {v:.4f}' for k, v in metrics.items()
                if v is not None) +
                  f' (mAP07 {metrics["mAP07"] - reference:+.4f} vs PyTorch)')
    print(f'\n1-minute load average before/after: '
          f'{figures["load_1min"][0]:.2f} / {figures["load_1min"][1]:.2f} '
          f'on {os.cpu_count()} CPUs')

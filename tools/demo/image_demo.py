"""Detect targets and segment the sky in images with a trained detector.

``python tools/demo/image_demo.py IMG_OR_DIR CONFIG CHECKPOINT --out-dir DIR``

For each image (one file, or every image of a folder) it writes into
``DIR``:

- ``<name>.png``: the image with the predicted boxes (score at least
  ``--score-thr``) outlined and the predicted sky as a translucent overlay;
- ``<name>.json``: the image's size, the thresholds, the fraction of pixels
  predicted as sky (null for detectors without a sky branch) and the
  detections: ``bbox`` ``[x1, y1, x2, y2]`` in pixels, ``score``, ``label``
  and ``class``.
"""
import argparse
import json
import os
import os.path as osp

import mmcv
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from bafenet.apis import inference_detector, init_detector, list_images
from bafenet.registry import VISUALIZERS
from bafenet.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(
        description='Detect targets and segment the sky in images')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-dir', required=True, help='folder for the PNGs and JSONs')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='detections scoring at least this are drawn and written')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs')
    return parser.parse_args()


def detections_to_json(result, classes, score_thr: float) -> dict:
    """The JSON record of one :class:`bafenet.apis.SkyDetResult`.

    Args:
        result (SkyDetResult): The prediction of one image.
        classes (Sequence[str]): Class names, indexed by label.
        score_thr (float): Detections scoring at least this are listed.

    Returns:
        dict: The record described in the module docstring.
    """
    keep = result.scores >= score_thr
    height, width = result.data_sample.ori_shape[:2]
    sky_fraction = None
    if result.sky_prob is not None:
        sky_fraction = float(
            result.data_sample.pred_sem_seg.sem_seg.float().mean())
    detections = [
        {
            'bbox': [round(float(v), 2) for v in box],
            'score': round(float(score), 4),
            'label': int(label),
            'class': classes[label]
        } for box, score, label in zip(result.bboxes[keep],
                                       result.scores[keep],
                                       result.labels[keep])
    ]
    return dict(
        image=result.img_path,
        height=int(height),
        width=int(width),
        score_thr=score_thr,
        sky_fraction=sky_fraction,
        detections=detections)


def main():
    args = parse_args()
    register_all_modules()
    images = list_images(args.inputs)
    model = init_detector(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    classes = model.dataset_meta['classes']
    os.makedirs(args.out_dir, exist_ok=True)

    progress = ProgressBar(len(images))
    for img_path in images:
        result = inference_detector(model, img_path)
        stem = osp.splitext(osp.basename(img_path))[0]
        visualizer.add_datasample(
            stem,
            mmcv.imread(img_path, channel_order='rgb'),
            data_sample=result.data_sample,
            draw_gt=False,
            pred_score_thr=args.score_thr,
            out_file=osp.join(args.out_dir, f'{stem}.png'))
        with open(osp.join(args.out_dir, f'{stem}.json'), 'w') as f:
            json.dump(
                detections_to_json(result, classes, args.score_thr),
                f,
                indent=1)
        progress.update()
    print(f'\n{len(images)} images written to {args.out_dir}')


if __name__ == '__main__':
    main()

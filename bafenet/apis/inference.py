"""Inference: a config and a checkpoint in, boxes and sky maps out.

>>> from bafenet.apis import init_detector, inference_detector, list_images
>>> model = init_detector('configs/bafenet/bafenet_r18_fpn_20e_densesirst.py',
...                       'work_dirs/bafenet_r18/best_mAP07_epoch_8.pth')
>>> result = inference_detector(model, 'frame.png')
>>> result.bboxes.shape, result.sky_prob.shape     # (N, 4), (H, W)
>>> results = inference_detector(model, list_images('frames/'))
"""
import copy
import os
import os.path as osp
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from torch import nn

from bafenet.registry import DATASETS, MODELS
from bafenet.utils.checkpoint import register_checkpoint_safe_globals

#: File suffixes :func:`list_images` takes for images.
IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')

ImageInput = Union[str, Path, np.ndarray]


@dataclass
class SkyDetResult:
    """The prediction for one image, in its original pixel coordinates.

    Attributes:
        img_path (str, optional): The image file; None for an array input.
        bboxes (np.ndarray): (N, 4) float32 ``[x1, y1, x2, y2]`` boxes,
            best score first.
        scores (np.ndarray): (N, ) float32 scores.
        labels (np.ndarray): (N, ) int64 class indices.
        sky_prob (np.ndarray, optional): (H, W) float32 sky probability;
            None for detectors without a sky branch.
        data_sample (DetDataSample): The model's output, for visualizers.
    """
    img_path: Optional[str]
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    sky_prob: Optional[np.ndarray]
    data_sample: DetDataSample


def init_detector(config: Union[str, Path, Config],
                  checkpoint: Optional[Union[str, Path]] = None,
                  device: str = 'cpu',
                  cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a detector from a config and load a checkpoint into it.

    The checkpoint is loaded with ``torch.load(weights_only=True)`` and the
    allow-list of :mod:`bafenet.utils.checkpoint`: a file that carries any
    other pickled object is refused, never executed.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str | Path, optional): Checkpoint file. None leaves the weights
            as initialised (for tests and benchmarks).
        device (str): Device to run on. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The detector in eval mode, with ``cfg`` (the config) and
        ``dataset_meta`` (class and sky-class names, palettes) attached.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file name or a Config, '
                        f'got {type(config).__name__}')
    config = copy.deepcopy(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    # Pretrained backbone weights are replaced by the checkpoint anyway.
    config.model.backbone.init_cfg = None
    init_default_scope(config.get('default_scope', 'bafenet'))
    register_checkpoint_safe_globals()

    model = MODELS.build(config.model)
    dataset_cfg = copy.deepcopy(config.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True  # only the metainfo is needed
    model.dataset_meta = dict(DATASETS.build(dataset_cfg).metainfo)
    if checkpoint is not None:
        state = load_checkpoint(model, str(checkpoint), map_location='cpu')
        saved_meta = state.get('meta', {}).get('dataset_meta')
        if saved_meta:
            model.dataset_meta.update(saved_meta)
    model.cfg = config
    return model.to(device).eval()


def list_images(path: Union[str, Path]) -> List[str]:
    """The image files of a folder (sorted, not recursive), or one file.

    Args:
        path (str | Path): An image file or a folder.

    Returns:
        list[str]: Image paths.
    """
    path = str(path)
    if osp.isdir(path):
        images = sorted(
            osp.join(path, name) for name in os.listdir(path)
            if name.lower().endswith(IMG_EXTENSIONS))
        if not images:
            raise FileNotFoundError(
                f'{path}: no image files ({", ".join(IMG_EXTENSIONS)})')
        return images
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such image file or folder')
    return [path]


def inference_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The test pipeline of ``cfg`` without its annotation loading.

    Args:
        cfg (Config): A detector config.
        from_array (bool): Whether images come as arrays, not files.

    Returns:
        Compose: The pipeline, from image to packed inputs.
    """
    pipeline = [
        copy.deepcopy(step) for step in cfg.test_dataloader.dataset.pipeline
        if 'Annotations' not in step['type']
    ]
    if from_array:
        pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
    return Compose(pipeline)


def inference_detector(
    model: nn.Module, imgs: Union[ImageInput, Sequence[ImageInput]]
) -> Union[SkyDetResult, List[SkyDetResult]]:
    """Detect targets (and segment the sky) in one image or several.

    Args:
        model (nn.Module): A detector from :func:`init_detector`.
        imgs (str | Path | np.ndarray | Sequence): An image file, an (H, W)
            or (H, W, 3) BGR array, or a sequence of them.

    Returns:
        SkyDetResult | list[SkyDetResult]: One result per image, a list if
        ``imgs`` was a sequence.
    """
    single = isinstance(imgs, (str, Path, np.ndarray))
    items = [imgs] if single else list(imgs)
    pipelines = {}
    results = []
    for item in items:
        from_array = isinstance(item, np.ndarray)
        if from_array not in pipelines:
            pipelines[from_array] = inference_pipeline(model.cfg, from_array)
        if from_array:
            if item.ndim == 2:
                item = np.repeat(item[..., None], 3, axis=-1)
            data = dict(img=item, img_id=0)
        else:
            data = dict(img_path=str(item), img_id=0)
        data = pipelines[from_array](data)
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([data]))[0]
        results.append(to_result(sample, None if from_array else str(item)))
    return results[0] if single else results


def to_result(sample: DetDataSample,
              img_path: Optional[str]) -> SkyDetResult:
    """Numpy view of a predicted data sample.

    Args:
        sample (DetDataSample): Output of the model's ``test_step``.
        img_path (str, optional): The image file.

    Returns:
        SkyDetResult: The result.
    """
    pred = sample.pred_instances
    sky_prob = None
    if 'pred_sem_seg' in sample and 'sky_prob' in sample.pred_sem_seg:
        sky_prob = sample.pred_sem_seg.sky_prob[0].float().cpu().numpy()
    return SkyDetResult(
        img_path=img_path,
        bboxes=pred.bboxes.cpu().numpy().astype(np.float32),
        scores=pred.scores.cpu().numpy().astype(np.float32),
        labels=pred.labels.cpu().numpy().astype(np.int64),
        sky_prob=sky_prob,
        data_sample=sample.cpu())

"""mmdet's ``init_detector`` / ``inference_detector`` with bafenet's loading.

>>> from bafenet.apis import init_detector, inference_detector
>>> model = init_detector('configs/bafenet/bafenet_r18_fpn_20e_densesirst.py',
...                       'work_dirs/bafenet_r18/best_mAP07_epoch_8.pth')
>>> sample = inference_detector(model, 'frame.png')
>>> sample.pred_instances.bboxes.shape         # (N, 4), original pixels
>>> sample.pred_sem_seg.sky_prob.shape         # (1, H, W)

mmdet's ``init_detector`` loads any checkpoint that shares a few keys with
the model (missing ones stay random) and, without a checkpoint, names the
classes after COCO; this one refuses a checkpoint that does not cover the
model and takes the class and sky-class names from the config's dataset.
"""
import copy
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import Compose
from mmdet.apis import inference_detector as mmdet_inference_detector
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from bafenet.registry import DATASETS, MODELS
from bafenet.utils import find_config, load_model_checkpoint
from .inference_pipeline import inference_pipeline_cfg
from .input_scale import warn_on_input_scale

ImageInput = Union[str, Path, np.ndarray]


def init_detector(config: Union[str, Path, Config],
                  checkpoint: Optional[Union[str, Path]] = None,
                  device: str = 'cpu',
                  cfg_options: Optional[dict] = None,
                  allow_partial: bool = False) -> nn.Module:
    """Build a detector from a config and load a checkpoint into it.

    The checkpoint is loaded with ``torch.load(weights_only=True)`` and the
    allow-list of :mod:`bafenet.utils.checkpoint_loading` (a file that carries any
    other pickled object is refused, never executed), and must cover the
    model (:func:`bafenet.utils.load_model_checkpoint`).

    Args:
        config (str | Path | Config): Config file, name of a config
            installed with bafenet (:func:`bafenet.utils.find_config`), or
            config object.
        checkpoint (str | Path, optional): Checkpoint file. None leaves the
            weights as initialised (for tests and benchmarks).
        device (str): Device to run on. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        allow_partial (bool): Load a checkpoint that misses some of the
            model's weights, holds some of another shape or others the model
            lacks (the model's keep their initial values). Defaults to
            False: such a checkpoint is refused, naming the keys.

    Returns:
        nn.Module: The detector (or test-time wrapper such as
        :class:`~bafenet.models.TiledDetector`) in eval mode, with ``cfg``
        and ``dataset_meta`` (class and sky-class names, palettes).
    """
    config = (Config.fromfile(find_config(str(config))) if isinstance(config, (str, Path))
              else copy.deepcopy(config))
    if cfg_options:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'bafenet'))
    model = MODELS.build(config.model)
    dataset_cfg = copy.deepcopy(config.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True  # only the metainfo is needed
    model.dataset_meta = dict(DATASETS.build(dataset_cfg).metainfo)
    if checkpoint is not None:
        state = load_model_checkpoint(
            model, str(checkpoint), allow_partial=allow_partial)
        model.dataset_meta.update(
            state.get('meta', {}).get('dataset_meta') or {})
    model.cfg = config
    return model.to(device).eval()


def inference_detector(
    model: nn.Module, imgs: Union[ImageInput, Sequence[ImageInput]]
) -> Union[DetDataSample, List[DetDataSample]]:
    """mmdet's ``inference_detector`` for files and arrays, also grayscale
    ones, in any mix, on images without annotations.

    (mmdet's picks the loader by the first input, and after an array it
    leaves the array loader in ``model.cfg``, so a later file fails.) The
    pipeline is the config's test pipeline without its annotation loaders
    (:func:`~bafenet.apis.inference_pipeline.inference_pipeline_cfg`), so a
    model of a mask-dataset config runs on an image with no mask beside
    it. A frame resized far from the model's input scale is warned about
    (:mod:`bafenet.apis.input_scale`).

    Args:
        model (nn.Module): A detector from :func:`init_detector`.
        imgs (str | Path | np.ndarray | Sequence): An image file, an (H, W)
            or (H, W, 3) BGR array (uint8, or uint16 of the bit depth of the
            config's ``ScaleBitDepth``), or a list of them.

    Returns:
        DetDataSample | list[DetDataSample]: Per image, ``pred_instances``
        (``bboxes`` (N, 4) ``[x1, y1, x2, y2]`` in original pixels,
        ``scores``, ``labels``, best score first) and, for detectors with a
        sky branch, ``pred_sem_seg`` with ``sem_seg`` (1, H, W) labels
        (1 sky) and ``sky_prob`` (1, H, W).
    """
    pipeline = inference_pipeline_cfg(model.cfg)
    pipelines = {
        False: Compose(copy.deepcopy(pipeline)),
        True: Compose([
            dict(type='mmdet.LoadImageFromNDArray')
            if step['type'] == 'LoadImageFromFile' else step
            for step in copy.deepcopy(pipeline)
        ])
    }
    results = []
    for img in imgs if isinstance(imgs, (list, tuple)) else [imgs]:
        if isinstance(img, np.ndarray) and img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=-1)
        elif isinstance(img, Path):
            img = str(img)
        from_array = isinstance(img, np.ndarray)
        results.append(
            mmdet_inference_detector(
                model, img, test_pipeline=pipelines[from_array]))
    warn_on_input_scale(results)
    return results if isinstance(imgs, (list, tuple)) else results[0]

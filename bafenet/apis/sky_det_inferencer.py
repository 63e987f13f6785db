"""mmdet's ``DetInferencer`` for detectors that also segment the sky."""
import copy
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import mmcv
import mmengine
import numpy as np
from mmdet.apis import DetInferencer
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.infer.infer import InputsType, ModelType
from torch import nn

from bafenet.models.test_time import DEFAULT_OVERLAP
from bafenet.utils import find_config, register_all_modules
from .cli import tiled_test_config
from .inference import init_detector
from .inference_pipeline import inference_pipeline_cfg
from .input_scale import warn_on_input_scale

#: The backends :class:`SkyDetInferencer` runs models with.
BACKENDS = ('pytorch', 'onnxruntime')


class SkyDetInferencer(DetInferencer):
    """mmdet's ``DetInferencer`` with the sky map, checked checkpoints and
    optional tiling.

    >>> inferencer = SkyDetInferencer(
    ...     'configs/bafenet/bafenet_r18_fpn_20e_densesirst.py', 'ckpt.pth')
    >>> out = inferencer('frames/', batch_size=4, out_dir='outputs')
    >>> out['predictions'][0]['sky_fraction']

    Everything else is mmdet's: inputs (a file, a folder, a URL, an (H, W)
    gray or (H, W, 3) BGR array, or a list), ``batch_size``,
    ``pred_score_thr``, ``out_dir`` (pictures in ``vis/``, JSON in
    ``preds/``), ``print_result``, ``return_datasamples``, ``return_vis``,
    ``show``.

    What it adds:

    - each prediction dict also holds ``sky_fraction`` (the fraction of
      pixels predicted as sky) and the sky map: ``sky_map``, an (H, W)
      uint8 array (1 sky), or, when predictions are saved, ``sky_map_path``,
      a PNG of it (0 and 255) beside the JSON (``preds/<name>_sky.png``), as
      mmdet does for panoptic maps; detectors without a sky branch give
      neither;
    - the pictures show the sky as a translucent overlay
      (``SkyDetLocalVisualizer``);
    - the pipeline is the config's test pipeline without its annotation
      loaders (:func:`.inference_pipeline.inference_pipeline_cfg`), so
      models of mask-dataset configs run on images with no mask beside
      them; gray arrays are taken (as three equal channels), and a frame
      resized far from the model's input scale is warned about
      (:mod:`bafenet.apis.input_scale`);
    - the checkpoint must cover the model (``allow_partial``);
    - ``tile=True`` runs at native resolution on overlapping tiles
      (:class:`~bafenet.models.TiledDetector`);
    - ``backend='onnxruntime'`` runs a model exported by
      ``tools/deployment/pytorch2onnx.py`` (``weights`` is the ``.onnx``
      file) with :class:`~bafenet.deployment.ONNXRuntimeDetector`; the
      config gives the pipeline, the class names and the post-process
      settings, and must be the one the model was exported from.

    The model is built in :meth:`_init_model` and called in one place,
    mmengine's :meth:`forward` (``self.model.test_step(data)`` on a collated
    batch, returning ``DetDataSample`` s); another backend replaces those two.

    Args:
        model (str | Config | dict): Config file, name of a config
            installed with bafenet (:func:`bafenet.utils.find_config`), or
            config object.
        weights (str, optional): Checkpoint file; None keeps the initial
            weights (a warning says so).
        device (str, optional): Device; None picks the available one.
        scope (str): The default scope. Defaults to ``'bafenet'``.
        palette (str): As mmdet's; ``'none'`` keeps the config's.
        show_progress (bool): Show a progress bar. Defaults to True.
        allow_partial (bool): Accept a checkpoint that misses weights of the
            model or holds some of another shape. Defaults to False.
        tile (bool): Tiled inference at native resolution. Defaults to
            False (frames squashed to the training input size).
        tile_overlap (int): Least tile overlap in px; no smaller than the
            largest target.
        tile_size (tuple[int, int], optional): Tile ``(width, height)``;
            None takes the test pipeline's ``Resize`` scale.
        backend (str): ``'pytorch'`` or ``'onnxruntime'``. Defaults to
            ``'pytorch'``.
    """

    def __init__(self,
                 model: Union[ModelType, str],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: str = 'bafenet',
                 palette: str = 'none',
                 show_progress: bool = True,
                 allow_partial: bool = False,
                 tile: bool = False,
                 tile_overlap: int = DEFAULT_OVERLAP,
                 tile_size: Optional[Tuple[int, int]] = None,
                 backend: str = 'pytorch') -> None:
        register_all_modules(init_default_scope=False)
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got '
                             f'{backend!r}')
        if backend == 'onnxruntime' and tile:
            raise ValueError('tiled inference runs on the pytorch backend '
                             'only')
        self.backend = backend
        self.allow_partial = allow_partial
        if isinstance(model, (str, Path)):
            model = Config.fromfile(find_config(str(model)))
        elif isinstance(model, dict) and not isinstance(model, Config):
            model = Config(model)
        if tile:
            model = tiled_test_config(model, tile_overlap, tile_size)
        super().__init__(
            model,
            weights,
            device,
            scope=scope,
            palette=palette,
            show_progress=show_progress)

    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        """The model from :func:`~bafenet.apis.init_detector` (checked,
        safe loading; class names from the config's dataset), or the ONNX
        Runtime one."""
        if self.backend == 'onnxruntime':
            return self._init_onnxruntime(cfg, weights, device)
        model = init_detector(
            cfg, weights, device=device, allow_partial=self.allow_partial)
        if weights is None:
            mmengine.print_log(
                'no checkpoint: the model keeps its initial weights',
                logger='current',
                level=30)
        if self.palette != 'none':
            model.dataset_meta['palette'] = self.palette
        return model

    def _init_onnxruntime(self, cfg: Config, weights: Optional[str],
                          device: str) -> nn.Module:
        """An :class:`~bafenet.deployment.ONNXRuntimeDetector` of the
        ``.onnx`` file ``weights``, checked against the config's detector
        and using its post-process settings and dataset metadata."""
        from bafenet.deployment import (ONNXRuntimeDetector,
                                        deployment_metadata)
        if weights is None:
            raise ValueError("backend 'onnxruntime' needs weights: the .onnx "
                             'file from tools/deployment/pytorch2onnx.py')
        providers = ['CPUExecutionProvider']
        if str(device).startswith('cuda'):
            providers.insert(0, 'CUDAExecutionProvider')
        detector = init_detector(cfg)  # settings and metadata, no weights
        model = ONNXRuntimeDetector(weights, providers=providers)
        model.adopt_settings(
            deployment_metadata(detector), cfg.filename or 'the config')
        model.dataset_meta = detector.dataset_meta
        if self.palette != 'none':
            model.dataset_meta['palette'] = self.palette
        return model

    def _init_pipeline(self, cfg: Config) -> Compose:
        """mmdet's pipeline, built from the test pipeline without its
        annotation loaders (``cfg`` is not changed)."""
        cfg = copy.deepcopy(cfg)
        cfg.test_dataloader.dataset.pipeline = inference_pipeline_cfg(cfg)
        return super()._init_pipeline(cfg)

    def _inputs_to_list(self, inputs: InputsType) -> list:
        """mmdet's list of inputs, with (H, W) and (H, W, 1) arrays as
        (H, W, 3) (mmdet's pictures index three channels)."""
        return [
            np.repeat(item.reshape(item.shape[:2] + (1, )), 3, axis=-1)
            if isinstance(item, np.ndarray) and
            (item.ndim == 2 or item.shape[-1] == 1) else item
            for item in super()._inputs_to_list(inputs)
        ]

    def forward(self, inputs: Union[dict, tuple], **kwargs) -> List:
        """mmengine's forward, then the input-scale warning
        (:func:`~bafenet.apis.input_scale.warn_on_input_scale`)."""
        preds = super().forward(inputs, **kwargs)
        warn_on_input_scale(preds)
        return preds

    def pred2dict(self,
                  data_sample: DetDataSample,
                  pred_out_dir: str = '') -> Dict:
        """mmdet's prediction dict plus ``sky_fraction`` and the sky map.

        Args:
            data_sample (DetDataSample): A prediction; the sky map is
                ``pred_sem_seg.sem_seg`` (1, H, W), 1 for sky.
            pred_out_dir (str): Where to save ``preds/<name>.json`` and
                ``preds/<name>_sky.png``; ``''`` saves nothing.

        Returns:
            dict: ``bboxes``, ``scores``, ``labels`` and, with a sky branch,
            ``sky_fraction`` and ``sky_map`` (or ``sky_map_path``).
        """
        result = super().pred2dict(data_sample)
        if 'pred_sem_seg' in data_sample:
            sky = data_sample.pred_sem_seg.sem_seg[0].cpu().numpy() == 1
            result['sky_fraction'] = float(sky.mean())
        if pred_out_dir == '':
            if 'pred_sem_seg' in data_sample:
                result['sky_map'] = sky.astype(np.uint8)
            return result
        if 'img_path' in data_sample:
            name = osp.splitext(osp.basename(data_sample.img_path))[0]
        else:
            name = str(self.num_predicted_imgs)
            self.num_predicted_imgs += 1
        out_stem = osp.join(pred_out_dir, 'preds', name)
        if 'pred_sem_seg' in data_sample:
            mmcv.imwrite(sky.astype(np.uint8) * 255, f'{out_stem}_sky.png')
            result['sky_map_path'] = f'{out_stem}_sky.png'
        mmengine.dump(result, f'{out_stem}.json')
        return result

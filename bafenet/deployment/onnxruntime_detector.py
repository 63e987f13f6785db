"""A detector exported by :func:`~bafenet.deployment.export_onnx`, run with
ONNX Runtime."""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.structures import InstanceData, PixelData

from .fcos_postprocess import decode_detections, sky_probability
from .onnx_export import read_metadata


class ONNXRuntimeDetector(nn.Module):
    """Runs an exported FCOS, FCOS-Seg or BAFE-Net with ONNX Runtime and
    returns what the PyTorch model's ``test_step`` returns.

    It holds no parameters; it is an ``nn.Module`` so that it stands where
    mmengine and mmdet expect a model (e.g. in ``SkyDetInferencer``).

    Pre-processing (channel order, normalisation, padding to the divisor, as
    mmdet's ``DetDataPreprocessor``) and the post-process
    (:mod:`bafenet.deployment.fcos_postprocess`) run in numpy and OpenCV
    with the settings stored in the model file.

    >>> detector = ONNXRuntimeDetector('bafenet_r18.onnx')
    >>> samples = detector.test_step(data)     # a collated test batch
    >>> samples[0].pred_instances.bboxes, samples[0].pred_sem_seg.sky_prob

    Args:
        onnx_file (str): The exported model.
        providers (Sequence[str]): ONNX Runtime execution providers.
            Defaults to the CPU one.
        num_threads (int, optional): Threads of one operator
            (``intra_op_num_threads``); None lets ONNX Runtime choose.
        optimization_level (str): ``'disable'``, ``'basic'``, ``'extended'``
            or ``'all'``: ONNX Runtime's graph optimisations. Defaults to
            ``'all'`` (on x86 it includes the NCHWc convolution layout).
        spinning (bool): Whether idle operator threads spin-wait for work
            (ONNX Runtime's default) rather than sleep. Spinning saves
            microseconds per operator on an idle machine and takes CPU from
            other processes on a shared one.
        sky_map (bool): Whether :meth:`predict` and :meth:`test_step`
            return the sky map of a model with a sky branch. False saves
            its resizing to the frame (boxes only, e.g. for video).

    Attributes:
        metadata (dict): The deployment metadata (see
            :func:`~bafenet.deployment.onnx_export.deployment_metadata`).
        dataset_meta (dict): ``classes`` of the exported model.
    """

    def __init__(self,
                 onnx_file: str,
                 providers: Sequence[str] = ('CPUExecutionProvider', ),
                 num_threads: Optional[int] = None,
                 optimization_level: str = 'all',
                 spinning: bool = True,
                 sky_map: bool = True) -> None:
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError as error:
            raise ImportError(
                'ONNXRuntimeDetector needs onnxruntime: pip install '
                '"bafenet[deploy]" (or onnxruntime)') from error
        levels = dict(
            disable=ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
        if optimization_level not in levels:
            raise ValueError(f'optimization_level must be one of '
                             f'{list(levels)}, got {optimization_level!r}')
        options = ort.SessionOptions()
        options.graph_optimization_level = levels[optimization_level]
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        if not spinning:
            options.add_session_config_entry(
                'session.intra_op.allow_spinning', '0')
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=list(providers))
        self.metadata = read_metadata(
            self.session.get_modelmeta().custom_metadata_map, str(onnx_file))
        self.dataset_meta = dict(classes=tuple(self.metadata['classes']))
        self.sky_map = sky_map
        preprocess = self.metadata['preprocess']
        self._mean = self._std = None
        if preprocess['mean'] is not None:
            self._mean = np.array(
                preprocess['mean'], dtype=np.float32)[:, None, None]
            self._std = np.array(
                preprocess['std'], dtype=np.float32)[:, None, None]

    @classmethod
    def for_detector(cls, onnx_file: str, detector: nn.Module, source: str,
                     **kwargs) -> 'ONNXRuntimeDetector':
        """A runner of ``onnx_file`` that stands in for ``detector`` (built
        from a config, its weights unused): checked to be the same kind of
        detector, with its post-process settings and dataset metadata.

        Args:
            onnx_file (str): The exported (float32 or int8) model.
            detector (nn.Module): The config's detector.
            source (str): The config, for error messages.
            **kwargs: Runner options (see the class).
        """
        from .onnx_export import deployment_metadata
        runner = cls(onnx_file, **kwargs)
        runner.adopt_settings(deployment_metadata(detector), source)
        runner.dataset_meta = getattr(detector, 'dataset_meta',
                                      runner.dataset_meta)
        return runner

    #: Metadata that must agree between the graph and a config.
    GRAPH_KEYS = ('detector', 'head', 'strides', 'num_classes', 'preprocess',
                  'sky_level', 'output_names')

    def adopt_settings(self, expected: dict, source: str) -> None:
        """Take the post-process settings (``test_cfg``, ``sky_thr``) and
        class names of a detector built from a config, after checking that
        the graph was exported from that kind of detector.

        Args:
            expected (dict): ``deployment_metadata`` of the config's
                detector.
            source (str): The config, for the error message.

        Raises:
            ValueError: Naming every key of :attr:`GRAPH_KEYS` that differs.
        """
        differ = [
            f'{key}: {self.metadata[key]} in the graph, {expected[key]} in '
            'the config' for key in self.GRAPH_KEYS
            if self.metadata[key] != expected[key]
        ]
        if differ:
            raise ValueError(f'the ONNX model was not exported from '
                             f'{source}: ' + '; '.join(differ))
        for key in ('test_cfg', 'sky_thr', 'classes'):
            self.metadata[key] = expected[key]
        self.dataset_meta = dict(classes=tuple(expected['classes']))

    @property
    def with_sky(self) -> bool:
        """Whether sky maps are returned: the model predicts one and
        ``sky_map`` is set."""
        return self.sky_map and self.metadata['sky_thr'] is not None

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Normalise and pad images into one batch.

        Args:
            images (list[np.ndarray]): (3, H_i, W_i) images in the channel
                order of the test pipeline (BGR), any numeric dtype.

        Returns:
            np.ndarray: (B, 3, H, W) float32, H and W the largest image
            sizes rounded up to ``pad_size_divisor``, padded at the bottom
            and right with ``pad_value``.
        """
        preprocess = self.metadata['preprocess']
        divisor = preprocess['pad_size_divisor']
        height = math.ceil(max(img.shape[1] for img in images) / divisor)
        width = math.ceil(max(img.shape[2] for img in images) / divisor)
        batch = np.full((len(images), 3, height * divisor, width * divisor),
                        preprocess['pad_value'],
                        dtype=np.float32)
        for out, img in zip(batch, images):
            if preprocess['bgr_to_rgb']:
                img = img[::-1]
            img = img.astype(np.float32)
            if self._mean is not None:
                img = (img - self._mean) / self._std
            out[:, :img.shape[1], :img.shape[2]] = img
        return batch

    def forward(self, batch: np.ndarray) -> Dict[str, np.ndarray]:
        """The graph's raw outputs, by name (see
        :class:`~bafenet.deployment.onnx_export.TensorModeDetector`), for a
        (B, 3, H, W) pre-processed batch; without ``sky_logit`` unless
        :attr:`with_sky`."""
        names = [
            name for name in self.metadata['output_names']
            if self.with_sky or name != 'sky_logit'
        ]
        outputs = self.session.run(names,
                                   {self.metadata['input_name']: batch})
        return dict(zip(names, outputs))

    def predict(self, batch: np.ndarray,
                batch_img_metas: List[dict]) -> List[dict]:
        """Detections and sky maps of a pre-processed batch, in numpy.

        Args:
            batch (np.ndarray): (B, 3, H, W) from :meth:`preprocess`.
            batch_img_metas (list[dict]): Per image ``img_shape`` (h, w),
                ``ori_shape`` (h, w) and ``scale_factor`` (w, h).

        Returns:
            list[dict]: Per image ``bboxes`` (N, 4) float32 in
            original-image pixels, ``scores`` (N, ) float32, ``labels`` (N,
            ) int64, best first, and with a sky branch ``sky_prob`` (H_ori,
            W_ori) float32.
        """
        outputs = self.forward(batch)
        num_levels = len(self.metadata['strides'])
        groups = {
            group: [outputs[f'{group}_{lvl}'] for lvl in range(num_levels)]
            for group in ('cls_score', 'bbox_pred', 'centerness')
        }
        results = []
        for i, meta in enumerate(batch_img_metas):
            result = decode_detections(
                [x[i] for x in groups['cls_score']],
                [x[i] for x in groups['bbox_pred']],
                [x[i] for x in groups['centerness']],
                self.metadata['strides'], meta, self.metadata['test_cfg'])
            if self.with_sky:
                result['sky_prob'] = sky_probability(
                    outputs['sky_logit'][i, 0], batch.shape[2:], meta)
            results.append(result)
        return results

    def test_step(self, data: dict) -> list:
        """Predict a collated batch, as ``model.test_step`` does.

        Args:
            data (dict): ``inputs``, a list of (3, H, W) image tensors, and
                ``data_samples``, their ``DetDataSample`` s with
                ``img_shape``, ``ori_shape`` and ``scale_factor``.

        Returns:
            list[DetDataSample]: The data samples with ``batch_input_shape``
            and ``pad_shape`` set, ``pred_instances`` (``bboxes``,
            ``scores``, ``labels``) and, with a sky branch,
            ``pred_sem_seg`` with ``sem_seg`` (1, H, W) uint8 (1 sky) and
            ``sky_prob`` (1, H, W), at the original image size.
        """
        images = [np.asarray(img) for img in data['inputs']]
        samples = data['data_samples']
        batch = self.preprocess(images)
        divisor = self.metadata['preprocess']['pad_size_divisor']
        for sample, img in zip(samples, images):
            sample.set_metainfo(
                dict(
                    batch_input_shape=tuple(batch.shape[2:]),
                    pad_shape=tuple(
                        math.ceil(s / divisor) * divisor
                        for s in img.shape[1:])))
        results = self.predict(batch, [s.metainfo for s in samples])
        for sample, result in zip(samples, results):
            sample.pred_instances = InstanceData(
                bboxes=torch.from_numpy(result['bboxes']),
                scores=torch.from_numpy(result['scores']),
                labels=torch.from_numpy(result['labels']))
            if self.with_sky:
                prob = torch.from_numpy(result['sky_prob'])[None]
                sample.pred_sem_seg = PixelData(
                    sem_seg=(prob > self.metadata['sky_thr']).to(torch.uint8),
                    sky_prob=prob)
        return samples

"""Config helpers shared by the command-line tools."""
import glob
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config


def set_data_root(cfg: Config, data_root: str) -> int:
    """Point every ``data_root`` entry of ``cfg`` at ``data_root``.

    Dataset configs nest (``RepeatDataset``, ``MultiImageMixDataset``), so the
    whole config is walked rather than a fixed list of keys.

    Args:
        cfg (Config): The config, changed in place.
        data_root (str): The dataset folder (the ``SIRSTdevkit`` level).

    Returns:
        int: How many entries were changed.
    """
    data_root = data_root.rstrip('/') + '/'

    def walk(node) -> int:
        count = 0
        if isinstance(node, dict):
            for key, value in node.items():
                if key == 'data_root':
                    node[key] = data_root
                    count += 1
                else:
                    count += walk(value)
        elif isinstance(node, (list, tuple)):
            count += sum(walk(item) for item in node)
        return count

    changed = walk(cfg._cfg_dict)
    if 'data_root' in cfg:
        cfg.data_root = data_root
    return changed


def innermost_dataset_cfg(dataset_cfg: dict) -> dict:
    """The dataset config inside wrappers (``RepeatDataset``,
    ``MultiImageMixDataset``, ...): the first one without a ``dataset``
    entry.

    Args:
        dataset_cfg (dict): A dataloader's ``dataset`` config.

    Returns:
        dict: The innermost dataset config (not a copy).
    """
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA.

    nccl needs GPUs, so the backend becomes gloo; DDP must not be given a
    device id for a CPU model; and mmengine's pytorch launcher calls
    ``torch.cuda.set_device``, so the gloo process group is started here
    (from torchrun's environment), and the Runner, finding it, skips its own
    start.
    """
    if torch.cuda.is_available() or cfg.get('launcher', 'none') == 'none':
        return
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', broadcast_buffers=False)
    cfg.model_wrapper_cfg.device_ids = None
    if cfg.launcher == 'pytorch' and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')


#: The configs shipped inside the package (``setup.py`` links or copies the
#: repository's ``configs/`` there).
PACKAGE_CONFIGS = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs')


def find_config(config: str) -> str:
    """The path of a config given by path or by name.

    Args:
        config (str): A config file; else a path relative to the
            repository's ``configs/`` (``fcos/fcos_r18_fpn_20e_densesirst.py``,
            with or without the ``configs/`` prefix) or a config name, with
            or without ``.py`` (``fcos_r18_fpn_20e_densesirst``, as ``mim
            search bafenet`` prints it), looked up among the configs
            installed with bafenet, so that they can be named without a
            checkout.

    Returns:
        str: The config file.

    Raises:
        FileNotFoundError: If no config has that path or name, or several
            have that name; the message says where names are listed.
    """
    if osp.isfile(config):
        return config
    relative = config[len('configs/'):] if config.startswith(
        'configs/') else config
    if not relative.endswith('.py'):
        relative += '.py'
    if osp.isfile(osp.join(PACKAGE_CONFIGS, relative)):
        return osp.join(PACKAGE_CONFIGS, relative)
    matches = sorted(
        glob.glob(
            osp.join(PACKAGE_CONFIGS, '**', osp.basename(relative)),
            recursive=True))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise FileNotFoundError(
            f'{config}: no such file, and several configs of bafenet have '
            f'that name: {", ".join(matches)}; give its path')
    raise FileNotFoundError(
        f'{config}: no such config file, nor a config of that path or name '
        f'among those installed with bafenet; their names are the files of '
        f'{PACKAGE_CONFIGS} (`mim search bafenet` lists them too)')


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                data_root: Optional[str] = None) -> Config:
    """A config, by path or name (:func:`find_config`), with
    ``--cfg-options`` and ``--data-root`` applied."""
    cfg = Config.fromfile(find_config(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    return cfg


def load_tool_config(config: str,
                     cfg_options: Optional[dict] = None,
                     data_root: Optional[str] = None,
                     work_dir: Optional[str] = None,
                     launcher: str = 'none') -> Config:
    """The config as ``tools/train.py`` and ``tools/test.py`` run it.

    Applies ``--cfg-options``, ``--data-root`` and the launcher, and sets
    the work directory: the given one, else the config's, else
    ``./work_dirs/<config name>``.
    """
    cfg = load_config(config, cfg_options, data_root)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg

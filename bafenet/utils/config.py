"""Config helpers shared by the command-line tools."""
import ast
import difflib
import glob
import inspect
import os.path as osp
import re
import warnings
from typing import List, Optional, Set

import torch
from mmengine.config import Config
from mmengine.runner import Runner


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
        check_cfg_option_types(cfg, cfg_options)
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
    ``./work_dirs/<config name>``. Top-level keys that nothing reads (a
    misspelt ``load_form``) are warned about
    (:func:`warn_unread_config_keys`).
    """
    cfg = load_config(config, cfg_options, data_root)
    warn_unread_config_keys(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def _config_value(cfg: Config, key: str):
    """``(True, value)`` of a dotted ``--cfg-options`` key (list items by
    index, as mmengine merges them), ``(False, None)`` if the config has
    no such key."""
    node = cfg._cfg_dict
    for part in key.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (isinstance(node, (list, tuple)) and part.isdigit()
              and int(part) < len(node)):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def check_cfg_option_types(cfg: Config, cfg_options: dict) -> None:
    """Refuse a ``--cfg-options`` text where the config has a number or a
    boolean.

    ``DictAction`` turns ``lr=0.1`` into a float and ``lr=abc`` into the
    text ``'abc'``, which would only fail deep inside the optimizer (or a
    hook) with an error that names no key.

    Args:
        cfg (Config): The config, before the options are merged.
        cfg_options (dict): Dotted key -> value, as ``DictAction`` parsed
            them.

    Raises:
        ValueError: Naming the key, its value in the config and the text
            given.
    """
    for key, value in cfg_options.items():
        found, current = _config_value(cfg, key)
        if not found or not isinstance(value, str):
            continue
        if isinstance(current, bool):
            kind = 'True or False'
        elif isinstance(current, (int, float)):
            kind = 'a number'
        else:
            continue
        raise ValueError(
            f'--cfg-options {key}={value}: {key} must be {kind} (the config '
            f'has {current!r}), not the text {value!r}')


#: Top-level keys mmengine's Runner reads besides the arguments of its
#: constructor (which :func:`read_config_keys` takes from its signature).
RUNNER_CFG_KEYS = ('model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
                   'activation_checkpointing', 'efficient_conv_bn_eval',
                   'compile', 'runner_type', 'custom_imports')

#: Variables configs conventionally define to build other entries from,
#: even where the config itself does not use them.
CONVENTIONAL_CFG_VARIABLES = ('data_root', 'dataset_type', 'backend_args',
                              'file_client_args', 'metainfo', 'classes',
                              'img_scale', 'img_scales', 'train_pipeline',
                              'val_pipeline', 'test_pipeline',
                              'tta_model', 'tta_pipeline', 'vis_backends',
                              'max_epochs', 'max_iters', 'base_lr',
                              'norm_cfg')


def read_config_keys() -> Set[str]:
    """The top-level config keys something reads: mmengine's Runner (its
    constructor's arguments and :data:`RUNNER_CFG_KEYS`) and the
    conventional variables (:data:`CONVENTIONAL_CFG_VARIABLES`)."""
    runner_args = set(inspect.signature(Runner.__init__).parameters)
    return (runner_args - {'self', 'cfg'}) | set(RUNNER_CFG_KEYS) | set(
        CONVENTIONAL_CFG_VARIABLES)


def config_source_names(filename: str) -> Set[str]:
    """The names a Python config file and its ``_base_`` files use: every
    name read in their code, and every ``_base_.<name>`` (attribute or
    ``{{_base_.<name>}}``), so that a variable defined to build other
    entries counts as read.

    Args:
        filename (str): The config file.

    Returns:
        set[str]: The names; empty for a config that is not a ``.py`` file.
    """
    names, todo, seen = set(), [filename], set()
    while todo:
        path = osp.abspath(todo.pop())
        if path in seen or not path.endswith('.py') or not osp.isfile(path):
            continue
        seen.add(path)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        names.update(re.findall(r'_base_\.(\w+)', text))
        for node in ast.walk(ast.parse(text, filename=path)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
        for base in Config._get_base_files(path):
            todo.append(Config._get_cfg_path(base, path)[0])
    return names


def unread_config_keys(cfg: Config) -> List[str]:
    """The top-level keys of ``cfg`` that nothing reads: neither mmengine's
    Runner nor the tools (:func:`read_config_keys`), nor the config's own
    code (:func:`config_source_names`); a misspelt ``load_form`` or
    ``train_cfgg``, given in the file or by ``--cfg-options``.

    Args:
        cfg (Config): A config loaded from a file.

    Returns:
        list[str]: The keys, in the config's order.
    """
    known = read_config_keys()
    if cfg.filename:
        known |= config_source_names(cfg.filename)
    return [key for key in cfg.keys() if key not in known]


def warn_unread_config_keys(cfg: Config) -> List[str]:
    """Warn about each of :func:`unread_config_keys`, with the Runner's
    key it is closest to, if any.

    Args:
        cfg (Config): A config loaded from a file.

    Returns:
        list[str]: The keys warned about.
    """
    keys = unread_config_keys(cfg)
    runner_keys = sorted(read_config_keys())
    for key in keys:
        close = difflib.get_close_matches(key, runner_keys, n=1)
        hint = f'; did you mean {close[0]!r}?' if close else ''
        warnings.warn(
            f'{cfg.filename}: the top-level key {key!r} is read by nothing '
            '(not by mmengine\'s Runner, bafenet\'s tools, nor the config '
            f'itself), so it has no effect{hint}')
    return keys

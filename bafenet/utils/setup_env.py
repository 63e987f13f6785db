"""Registration of bafenet modules and the default scope."""
import datetime
import warnings

from mmengine import DefaultScope

from bafenet.registry import (DATASETS, HOOKS, METRICS, MODELS, OPTIMIZERS,
                              TASK_UTILS, TRANSFORMS, VISUALIZERS)
from .checkpoint_loading import install_safe_loading


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register bafenet and mmdet modules into their registries, and install
    safe checkpoint loading.

    bafenet's modules are imported from the ``locations`` that its
    registries declare (:mod:`bafenet.registry`), mmengine's own mechanism,
    so this bottom-layer module names no layer above it.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'bafenet'``, so that registries look modules up in bafenet first
            and fall back to mmdet. Defaults to True.
    """
    import mmdet.utils

    install_safe_loading()
    for located in (DATASETS, TRANSFORMS, HOOKS, OPTIMIZERS, MODELS,
                    TASK_UTILS, METRICS, VISUALIZERS):
        located.import_from_location()
    mmdet.utils.register_all_modules(init_default_scope=False)

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'bafenet':
        if current is not None:
            warnings.warn('The current default scope '
                          f'"{current.scope_name}" is not "bafenet"; '
                          '`register_all_modules` will force it to "bafenet".')
        name = f'bafenet-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='bafenet')

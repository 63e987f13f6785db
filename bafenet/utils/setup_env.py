"""Registration of bafenet modules and the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register bafenet and mmdet modules into their registries.

    Importing :mod:`bafenet.utils` has already installed the safe checkpoint
    loader and its allow-list (see :mod:`bafenet.utils.checkpoint`).

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'bafenet'``, so that registries look modules up in bafenet first
            and fall back to mmdet. Defaults to True.
    """
    import mmdet.utils

    import bafenet.datasets  # noqa: F401
    import bafenet.engine  # noqa: F401
    import bafenet.evaluation  # noqa: F401
    import bafenet.models  # noqa: F401
    import bafenet.visualization  # noqa: F401

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

"""The module that configs written before the checkpoint code was split
name in their ``custom_imports`` (every config a run dumped into its work
directory, and the ``meta['cfg']`` of its checkpoints): importing it
installs safe checkpoint loading, as :mod:`bafenet.utils.safe_loading`
does, so that those configs still load."""
from .checkpoint_loading import install_safe_loading

install_safe_loading()

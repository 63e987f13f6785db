"""Importing this module installs safe checkpoint loading
(:func:`~bafenet.utils.checkpoint_loading.install_safe_loading`): the
default runtime's ``custom_imports`` names it, so that every tool that reads
one of our configs, mmdet's and mim's included, loads checkpoints safely."""
from .checkpoint_loading import install_safe_loading

install_safe_loading()

from .assigners import FCOSPointAssigner

__all__ = ['FCOSPointAssigner']

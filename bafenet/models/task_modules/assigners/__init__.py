from .fcos_point_assigner import FCOSPointAssigner

__all__ = ['FCOSPointAssigner']

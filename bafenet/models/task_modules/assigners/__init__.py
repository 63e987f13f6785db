from .fcos_point_assigner import FCOSPointAssigner, fpn_points

__all__ = ['FCOSPointAssigner', 'fpn_points']

from .assigners import FCOSPointAssigner, fpn_points
from .assignment_coverage import (head_assignment, padded_shape,
                                  positives_per_gt)

__all__ = [
    'FCOSPointAssigner', 'fpn_points', 'head_assignment', 'padded_shape',
    'positives_per_gt'
]

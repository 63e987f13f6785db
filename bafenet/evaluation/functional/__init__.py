from .detection_matching import (MatchedDetections, box_area, concat_matches,
                                 match_detections, voc_ap)
from .f1_score import PRF1, best_f1, prf1_at
from .target_mask_metrics import (MaskTargetMatches, boxes_to_mask,
                                  mask_components, match_mask_targets)
from .target_pd_fa import (TargetMatches, box_pixel_extents, box_union_area,
                           match_targets)

__all__ = [
    'MatchedDetections', 'box_area', 'match_detections', 'voc_ap',
    'concat_matches', 'PRF1', 'prf1_at', 'best_f1', 'TargetMatches', 'match_targets',
    'box_pixel_extents', 'box_union_area', 'MaskTargetMatches',
    'mask_components', 'match_mask_targets', 'boxes_to_mask'
]

"""BAG-CP as the original code does it."""
import numpy as np

from bafenet.registry import TRANSFORMS
from .bag_copy_paste import BAGCopyPaste


@TRANSFORMS.register_module()
class OriginalBAGCopyPaste(BAGCopyPaste):
    """:class:`BAGCopyPaste` as ``SkyCopyPaste`` of GrokCV/BAFE-Net does it,
    for ``configs/original/`` (docs/method.md lists each difference).

    Four behaviours of the original, each on by default:

    - ``box_rounding``: whenever targets are drawn for pasting (n >= 1),
      the original rebuilds every destination box from an integer box mask,
      which floors it to ``[int(x1), int(y1), int(x2), int(y2)]``; a box
      whose floored mask is empty becomes ``[0, 0, 0, 0]`` and is then
      dropped by its occlusion filter unless all four coordinates were
      within 10 px of that (such a box has no positive point, so it teaches
      nothing either way). Pasted boxes are integers in both.
    - ``patch_crop``: source patches of ``int(x2) - int(x1)`` by
      ``int(y2) - int(y1)`` pixels from ``(int(x1), int(y1))`` instead of
      the pixels the box touches (floor / ceil); an empty patch is not
      pasted (the original appends an empty ``[0, 0, 0, 0]`` box for it,
      which, as above, teaches nothing).
    - ``single_pixel_blend``: the original's Gaussian of a 1x1 patch is
      0 / 0 = NaN after min-max normalisation, and ``min(255, NaN)`` in its
      blend gives 255: a 1x1 patch pastes as one saturated pixel (the
      dtype's maximum, 255 for float images). Reproduced as that value, not
      by computing a NaN. :class:`BAGCopyPaste` gives a 1x1 patch G = 1.
    - ``window_carry_over``: a cluster window that had to shrink keeps its
      size as the first one tried for the next cluster; the size goes back
      to ``window_size`` only after a cluster finds no window.
      :class:`BAGCopyPaste` starts each cluster at ``window_size``.

    The original also never accepts its smallest (7 px) window and tries
    102 candidates per search: ``min_window_size=10`` and
    ``num_candidates=102`` in the config. Where it finds no position after
    those tries it pastes at the last candidate anyway, possibly outside
    sky or onto a target; that is not reproduced (docs/method.md).

    Args:
        box_rounding (bool): See above. Defaults to True.
        patch_crop (bool): See above. Defaults to True.
        single_pixel_blend (bool): See above. Defaults to True.
        window_carry_over (bool): See above. Defaults to True.
        **kwargs: Those of :class:`BAGCopyPaste`.
    """

    def __init__(self,
                 box_rounding: bool = True,
                 patch_crop: bool = True,
                 single_pixel_blend: bool = True,
                 window_carry_over: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.box_rounding = box_rounding
        self.patch_crop = patch_crop
        self.single_pixel_blend = single_pixel_blend
        self.window_carry_over = window_carry_over

    def before_paste(self, results: dict) -> None:
        """Floor the destination boxes (``box_rounding``)."""
        if self.box_rounding:
            self.floor_boxes(results)

    @staticmethod
    def floor_boxes(results: dict) -> None:
        """The original's rebuild of the destination boxes from integer
        masks: floor every box; one whose mask is empty becomes
        [0, 0, 0, 0] and is kept only if all four coordinates were within
        10 px of that (``bbox_occluded_thr`` of the original's occlusion
        filter; the mask-area test never keeps an empty mask)."""
        boxes = results['gt_bboxes']
        values = boxes.numpy()
        floored = np.trunc(values)
        empty = (floored[:, 2] <= floored[:, 0]) | (floored[:, 3] <=
                                                    floored[:, 1])
        floored[empty] = 0
        keep = ~empty | (np.abs(floored - values) <= 10).all(axis=1)
        results['gt_bboxes'] = type(boxes)(floored[keep].astype(np.float32))
        results['gt_bboxes_labels'] = results['gt_bboxes_labels'][keep]
        results['gt_ignore_flags'] = results['gt_ignore_flags'][keep]

    def crop(self, img: np.ndarray, box: np.ndarray) -> np.ndarray:
        """With ``patch_crop``, the original's integer crop, possibly empty
        (0 rows or columns); as :class:`BAGCopyPaste` otherwise."""
        if not self.patch_crop:
            return super().crop(img, box)
        x1, y1, x2, y2 = (int(v) for v in box)
        return self.shrink(img[y1:y2, x1:x2])

    def blend_input(self, patch: np.ndarray, weight, top: float) -> tuple:
        """With ``single_pixel_blend``, a 1x1 Gaussian paste becomes a hard
        paste of ``top`` (the original's ``min(255, NaN)``)."""
        if (self.single_pixel_blend and weight is not None
                and weight.shape == (1, 1)):
            return np.full_like(patch, top if np.isfinite(top) else 255), None
        return patch, weight

    def next_window_start(self, window) -> int:
        """With ``window_carry_over``, the size of the window the last
        cluster found; the first size otherwise."""
        if self.window_carry_over and window is not None:
            return self.window_sizes.index(window[2])
        return 0

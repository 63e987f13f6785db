"""A straightforward BAG-CP written as the original code's algorithm runs,
for the speed comparison in ``benchmark.py bagcp``.

Same steps as ``BAGCopyPaste`` (sampling, clusters in shrinking windows,
1 px margin, rotated Gaussian, additive blend), structured like the original
``SkyCopyPaste``:

- candidate positions are tried one at a time; each try draws the candidate
  rectangle into a full-size mask and tests it against the sky and occupancy
  masks (the original's ``cv2.bitwise_and`` of whole masks);
- the Gaussian is built pixel by pixel in Python;
- every paste is accumulated into full-size sum and count maps, and the
  result is composed with a per-pixel Python loop over the whole image (the
  original's overlap averaging).

It is a measuring stick, not a supported transform.
"""
import math

import cv2
import numpy as np


def rect_is_free(sky, occupied, x, y, w, h, margin):
    """The rectangle lies in sky and, grown by ``margin``, meets nothing."""
    height, width = sky.shape
    candidate = np.zeros((height, width), np.uint8)
    candidate[y:y + h, x:x + w] = 1
    if cv2.bitwise_and(candidate, (~sky).view(np.uint8)).any():
        return False
    grown = np.zeros((height, width), np.uint8)
    grown[max(y - margin, 0):y + h + margin,
          max(x - margin, 0):x + w + margin] = 1
    return not cv2.bitwise_and(grown, occupied.view(np.uint8)).any()


def random_sky_pixel(rng, sky_pixels):
    y, x = sky_pixels[int(rng.integers(len(sky_pixels)))]
    return int(x), int(y)


def find(sky, occupied, candidates, w, h, margin, max_trials):
    for _ in range(max_trials):
        x, y = candidates()
        if x >= 0 and y >= 0 and rect_is_free(sky, occupied, x, y, w, h,
                                             margin):
            return x, y
    return None


def gaussian(rng, h, w):
    sx, sy = rng.uniform(0.3, 0.6, size=2)
    mx, my = rng.uniform(-0.2, 0.0, size=2)
    theta = math.radians(rng.uniform(-90, 90))
    gauss = [[0.0] * w for _ in range(h)]
    for j in range(h):
        for i in range(w):
            gx = (-1 + 2 * i / (w - 1) if w > 1 else -1.0) - mx
            gy = (-1 + 2 * j / (h - 1) if h > 1 else -1.0) - my
            xr = math.cos(theta) * gx - math.sin(theta) * gy
            yr = math.sin(theta) * gx + math.cos(theta) * gy
            gauss[j][i] = math.exp(-(xr * xr / (2 * sx * sx) +
                                     yr * yr / (2 * sy * sy)))
    low = min(min(row) for row in gauss)
    high = max(max(row) for row in gauss)
    return [[(g - low) / (high - low) if high > low else 1.0 for g in row]
            for row in gauss]


def reference_bag_cp(results, rng, max_trials=100, cluster_size=5,
                     window_sizes=(25, 22, 19, 16, 13, 10, 7), margin=1):
    """Paste targets of ``results['mix_results'][0]`` into ``results``.

    Returns:
        int: The number of pasted targets.
    """
    img = results['img']
    height, width, channels = img.shape
    sky = results['gt_seg_map'] == 1
    sky_pixels = np.argwhere(sky)
    source = results['mix_results'][0]
    src_boxes = source['gt_bboxes'].numpy()
    if len(sky_pixels) == 0 or len(src_boxes) == 0:
        return 0
    occupied = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in results['gt_bboxes'].numpy():
        occupied[int(y1):int(math.ceil(y2)), int(x1):int(math.ceil(x2))] = True
    added = np.zeros((height, width, channels), np.float64)
    count = np.zeros((height, width), np.int32)

    num = int(rng.integers(len(src_boxes) + 1))
    picked = rng.choice(len(src_boxes), num, replace=False)
    pasted = 0
    window = None
    for order, index in enumerate(picked):
        x1, y1, x2, y2 = src_boxes[index]
        x1, y1 = int(x1), int(y1)
        x2, y2 = int(math.ceil(x2)), int(math.ceil(y2))
        patch = source['img'][y1:y2, x1:x2]
        if max(patch.shape[:2]) >= 10:
            patch = cv2.resize(patch, (7, 7)).reshape(7, 7, -1)
        h, w = patch.shape[:2]
        if order % cluster_size == 0:
            window = None
            for size in window_sizes:

                def window_corner(size=size):
                    x, y = random_sky_pixel(rng, sky_pixels)
                    return min(x, width - size), min(y, height - size)

                corner = find(sky, occupied, window_corner, size, size,
                              0, max_trials)
                if corner:
                    window = (*corner, size)
                    break
        position = None
        if window and window[2] >= max(h, w):
            wx, wy, size = window
            position = find(
                sky, occupied, lambda:
                (wx + int(rng.integers(size - w + 1)), wy + int(
                    rng.integers(size - h + 1))), w, h, margin, max_trials)
        if position is None:

            def anywhere():
                x, y = random_sky_pixel(rng, sky_pixels)
                return min(x, width - w), min(y, height - h)

            position = find(sky, occupied, anywhere, w, h, margin,
                            max_trials)
        if position is None:
            continue
        x, y = position
        gauss = gaussian(rng, h, w)
        lam = rng.uniform(0.5, 1.0)
        for j in range(h):
            for i in range(w):
                for c in range(channels):
                    added[y + j, x + i, c] += lam * gauss[j][i] * float(
                        patch[j, i, c])
                count[y + j, x + i] += 1
        occupied[y:y + h, x:x + w] = True
        pasted += 1

    for yy in range(height):
        for xx in range(width):
            if count[yy, xx]:
                for c in range(channels):
                    value = float(img[yy, xx, c]) + added[yy, xx, c] / count[
                        yy, xx]
                    img[yy, xx, c] = min(255, int(value))
    return pasted

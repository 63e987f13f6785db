"""A deterministic synthetic dataset in the exact DenseSIRST layout.

It lets a fresh user run the demo without the real data. Each frame is an
8-bit grayscale infrared-like image: a sky with cloud texture above a horizon,
a brighter textured ground with buildings below it, clusters of 2-6 px
Gaussian targets in the sky (30-120 grey levels above the sky around them,
boxed by their visible extent), and target-like bright distractors on the
ground (not annotated). Every annotation folder of the real dataset is
written: VOC boxes, target binary and palette masks, point labels, sky binary
and palette masks, and the split files (train_v2, val_v2 and test_v2 hold
different frames, each drawn independently, so test_v2 is held out);
``synthetic.json`` at the top records that the data is synthetic and how it
was made.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from bafenet.datasets.layout import DENSESIRST_LAYOUT

#: The folders DenseSIRST releases beside those of its layout.
RELEASED_EXTRA_FOLDERS = ('SIRST/PaletteMask', 'SIRST/Point_label',
                          'SkySeg/BinaryMask')
#: Palettes of the real dataset's palette PNGs.
TARGET_PALETTE = [0, 0, 0, 255, 0, 0]
SKY_PALETTE = [0, 0, 0, 128, 0, 0]

IMAGE_SIZES = ((320, 256), (384, 288), (320, 240), (448, 320))
#: Raised whenever the generated frames change, so that a dataset written by
#: an earlier version is known as such (see :func:`synthetic_record`).
GENERATOR_VERSION = 2
#: A target's peak above its local background, in grey levels, drawn
#: uniformly (real DenseSIRST targets: median 75, 10th-90th percentile 35-134
#: on 40 train_v2 frames).
TARGET_CONTRAST = (30.0, 120.0)


def smooth_noise(rng: np.random.Generator, height: int, width: int,
                 octaves: int = 4) -> np.ndarray:
    """Fractal value noise in [0, 1], shape (height, width), float32."""
    out = np.zeros((height, width), np.float32)
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        cells = 2**(octave + 2)
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
        ys = np.linspace(0, cells, height, dtype=np.float32)
        xs = np.linspace(0, cells, width, dtype=np.float32)
        y0 = np.minimum(ys.astype(int), cells - 1)
        x0 = np.minimum(xs.astype(int), cells - 1)
        fy = (ys - y0)[:, None]
        fx = (xs - x0)[None, :]
        fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
        top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
        bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
        out += amplitude * (top * (1 - fy) + bottom * fy)
        total += amplitude
        amplitude *= 0.5
    return out / total


def render_background(rng: np.random.Generator, height: int,
                      width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Sky and ground.

    Returns:
        tuple: ``(image, sky)``, float32 image (H, W) in grey levels and bool
        sky mask (H, W).
    """
    clouds = smooth_noise(rng, height, width)
    sky_level = rng.uniform(60, 120)
    image = sky_level + rng.uniform(30, 70) * np.clip(clouds - 0.4, 0, None)
    if rng.random() < 0.2:  # a frame of sky alone
        return image, np.ones((height, width), bool)
    ridge = smooth_noise(rng, 1, width, octaves=3)[0]
    horizon = height * rng.uniform(0.45, 0.8) + (ridge - 0.5) * height * 0.25
    rows = np.arange(height, dtype=np.float32)[:, None]
    sky = rows < horizon[None, :]
    ground = sky_level + rng.uniform(20, 60) + 40 * smooth_noise(
        rng, height, width, octaves=5)
    for _ in range(rng.integers(2, 6)):  # buildings rising above the ridge
        bw, bh = rng.integers(8, width // 6), rng.integers(10, height // 4)
        x0 = rng.integers(0, width - bw)
        top = int(horizon[x0:x0 + bw].max()) - bh
        sky[max(top, 0):, x0:x0 + bw] = False
        ground[max(top, 0):, x0:x0 + bw] += rng.uniform(-20, 30)
    image = np.where(sky, image, ground)
    return image, sky


def gaussian_blob(rng: np.random.Generator) -> np.ndarray:
    """A target's intensity profile in [0, 1], (h, w) from (3, 2) to (6, 6).

    Like most DenseSIRST targets: 3-6 px high, and the sides differ by at
    most one pixel (aspect 0.67-1.5).
    """
    h = rng.integers(3, 7)
    w = int(np.clip(h + rng.integers(-1, 2), 2, 6))
    ys = np.arange(h, dtype=np.float32) - (h - 1) / 2
    xs = np.arange(w, dtype=np.float32) - (w - 1) / 2
    sy, sx = h / rng.uniform(2.5, 4.0), w / rng.uniform(2.5, 4.0)
    blob = np.exp(-(ys[:, None]**2 / (2 * sy**2) + xs[None, :]**2 /
                    (2 * sx**2)))
    return blob / blob.max()


def union_box(mask: np.ndarray) -> List[int]:
    """0-based inclusive box around the True pixels of ``mask``."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def place_targets(rng: np.random.Generator, image: np.ndarray,
                  sky: np.ndarray) -> Tuple[List[List[int]], np.ndarray]:
    """Add clustered targets to ``image`` in place, only on sky.

    Returns:
        tuple: ``(boxes, target_mask)``; boxes as 0-based inclusive
        ``[x1, y1, x2, y2]``; target_mask bool (H, W).
    """
    height, width = sky.shape
    occupied = np.zeros_like(sky)
    targets = np.zeros_like(sky)
    boxes = []
    sky_ys, sky_xs = np.nonzero(sky)
    if len(sky_ys) == 0:
        return boxes, targets
    for _ in range(rng.integers(1, 5)):  # clusters
        pick = rng.integers(len(sky_ys))
        cy, cx = sky_ys[pick], sky_xs[pick]
        for _ in range(rng.integers(2, 9)):  # targets per cluster
            blob = gaussian_blob(rng)
            h, w = blob.shape
            y0 = int(np.clip(cy + rng.integers(-15, 16), 0, height - h))
            x0 = int(np.clip(cx + rng.integers(-15, 16), 0, width - w))
            window = (slice(y0, y0 + h), slice(x0, x0 + w))
            margin = (slice(max(y0 - 1, 0), y0 + h + 1),
                      slice(max(x0 - 1, 0), x0 + w + 1))
            if not sky[window].all() or occupied[margin].any():
                continue
            image[window] += blob * rng.uniform(*TARGET_CONTRAST)
            occupied[window] = True
            # the box is the target's visible extent, its mask
            visible = blob > 0.25
            targets[window] |= visible
            x1, y1, x2, y2 = union_box(visible)
            boxes.append([x0 + x1, y0 + y1, x0 + x2, y0 + y2])
    return boxes, targets


def add_distractors(rng: np.random.Generator, image: np.ndarray,
                    sky: np.ndarray) -> None:
    """Target-like bright spots on the ground (not annotated), in place."""
    ground_ys, ground_xs = np.nonzero(~sky)
    if len(ground_ys) == 0:
        return
    height, width = sky.shape
    for pick in rng.integers(len(ground_ys), size=rng.integers(3, 12)):
        blob = gaussian_blob(rng)
        h, w = blob.shape
        y0 = min(ground_ys[pick], height - h)
        x0 = min(ground_xs[pick], width - w)
        image[y0:y0 + h, x0:x0 + w] += blob * rng.uniform(20, 60)


def voc_xml(img_id: str, width: int, height: int, boxes: List[List[int]],
            depth: int = 1) -> str:
    """A VOC annotation with 1-based inclusive boxes of class ``Target``."""
    objects = ''.join(
        '  <object>\n    <name>Target</name>\n    <bndbox>\n'
        f'      <xmin>{x1 + 1}</xmin>\n      <ymin>{y1 + 1}</ymin>\n'
        f'      <xmax>{x2 + 1}</xmax>\n      <ymax>{y2 + 1}</ymax>\n'
        '    </bndbox>\n  </object>\n' for x1, y1, x2, y2 in boxes)
    return (f'<annotation>\n  <filename>{img_id}</filename>\n  <size>\n'
            f'    <width>{width}</width>\n    <height>{height}</height>\n'
            f'    <depth>{depth}</depth>\n  </size>\n{objects}</annotation>\n')


def save_palette(path: str, indices: np.ndarray, palette: List[int],
                 bits: int = 8) -> None:
    """Write an index map as a palette PNG (1-bit when ``bits == 1``)."""
    img = Image.fromarray(indices.astype(np.uint8), mode='P')
    img.putpalette(palette)
    img.save(path, bits=bits)


def layout_path(root: str, kind: str, img_id: str) -> str:
    """Where a DenseSIRST-layout dataset keeps the ``kind`` file (``img``,
    ``ann``, ``seg``, ``mask``) of ``img_id``."""
    return osp.join(root, DENSESIRST_LAYOUT.folders[kind],
                    img_id + DENSESIRST_LAYOUT.suffixes[kind])


def write_sample(root: str, img_id: str, image: np.ndarray, sky: np.ndarray,
                 boxes: List[List[int]], targets: np.ndarray) -> None:
    """Write one sample's image and all its annotation files: those of the
    layout the datasets read, and the other folders DenseSIRST releases."""
    height, width = sky.shape
    Image.fromarray(image).save(layout_path(root, 'img', img_id))
    with open(layout_path(root, 'ann', img_id), 'w') as f:
        f.write(voc_xml(img_id, width, height, boxes))
    for mask_path, mask in ((layout_path(root, 'mask', img_id), targets),
                            (osp.join(root, 'SkySeg/BinaryMask',
                                      img_id + '_pixels0.png'), sky)):
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        box = [union_box(mask)] if mask.any() else []
        with open(osp.join(osp.dirname(mask_path), img_id + '.xml'),
                  'w') as f:
            f.write(voc_xml(img_id + '.png', width, height, box, depth=3))
    save_palette(
        osp.join(root, 'SIRST/PaletteMask', img_id + '.png'), targets,
        TARGET_PALETTE, bits=1)
    save_palette(layout_path(root, 'seg', img_id), sky, SKY_PALETTE)
    with open(osp.join(root, 'SIRST/Point_label', img_id + '_pixels0.txt'),
              'w') as f:
        f.write('\n'.join(f'{(x1 + x2) // 2} {(y1 + y2) // 2}'
                          for x1, y1, x2, y2 in boxes))


def make_splits(ids: List[str]) -> Dict[str, List[str]]:
    """The split lists of the real dataset: v2 (1/2 train, 1/4 val, 1/4 test),
    v1 (the first third of each v2 split) and mini (4 images each)."""
    n = len(ids)
    train, val, test = ids[:n // 2], ids[n // 2:3 * n // 4], ids[3 * n // 4:]
    splits = dict(
        train_v2=train, val_v2=val, trainval_v2=train + val, test_v2=test)
    for name in ('train', 'val', 'test'):
        splits[f'{name}_v1'] = splits[f'{name}_v2'][:max(
            1, len(splits[f'{name}_v2']) // 3)]
    splits['trainval_v1'] = splits['train_v1'] + splits['val_v1']
    splits['mini_trainval'] = train[:4]
    splits['mini_test'] = test[:4]
    return splits


def generate_synthetic_densesirst(out_root: str,
                                  num_images: int = 64,
                                  seed: int = 0) -> Dict[str, List[str]]:
    """Write a synthetic dataset in the DenseSIRST layout.

    Args:
        out_root (str): The ``SIRSTdevkit`` folder to create.
        num_images (int): Number of frames (at least 8). Defaults to 64.
        seed (int): Seed; the same seed writes identical files.

    Returns:
        dict[str, list[str]]: The split name to image ids.
    """
    if num_images < 8:
        raise ValueError(f'num_images must be at least 8, got {num_images}')
    for folder in (*DENSESIRST_LAYOUT.folders.values(),
                   DENSESIRST_LAYOUT.split_dir, *RELEASED_EXTRA_FOLDERS):
        os.makedirs(osp.join(out_root, folder), exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = []
    for index in range(num_images):
        img_id = f'Synth_{index + 1}'
        width, height = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
        image, sky = render_background(rng, height, width)
        boxes, targets = place_targets(rng, image, sky)
        add_distractors(rng, image, sky)
        image += rng.normal(0, 2.0, image.shape)  # sensor noise
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        write_sample(out_root, img_id, image, sky, boxes, targets)
        ids.append(img_id)
    splits = make_splits(ids)
    for name, split_ids in splits.items():
        # like the real split files: no final newline
        split_file = osp.join(out_root, DENSESIRST_LAYOUT.split_dir,
                              name + '.txt')
        with open(split_file, 'w') as f:
            f.write('\n'.join(split_ids))
    with open(osp.join(out_root, 'synthetic.json'), 'w') as f:
        json.dump(synthetic_record(num_images, seed), f)
    return splits


def synthetic_record(num_images: int, seed: int) -> dict:
    """What ``synthetic.json`` holds for a dataset this generator writes.

    Args:
        num_images (int): Number of frames.
        seed (int): Seed.

    Returns:
        dict: ``generator``, ``version``, ``num_images`` and ``seed``.
    """
    return dict(
        generator='bafenet.testing.generate_synthetic_densesirst',
        version=GENERATOR_VERSION,
        num_images=num_images,
        seed=seed)

"""A procedural saliency data set, written to disk in MSRA10K's layout (`Imgs/N.jpg` beside
`Imgs/N.png`) so that the loader of the real data sets reads it, and is tested, every run.

Each image has one to three large salient objects (ellipses, rotated rectangles, triangles,
stars; solid, shaded colours chosen to stand out from the background) on a cluttered
background: a low-frequency colour field, oriented stripes, pixel noise and a dozen or more
small distractor shapes in arbitrary, often vivid colours. Neither grey level nor colour
contrast alone finds the objects (the distractors and stripes are just as contrasted); size,
compactness and surface do (objects are flat and smoothly shaded, the background and half the
distractors striped), which a network learns. Everything derives from one seed.

All images share one size (`size` x `width`), or, with `short_side=(lo, hi)`, each has MSRA10K's
kind of native size: the long side `size`, the short side drawn per image from lo..hi, landscape
or portrait at even odds. That is the paper-scale rehearsal set (`dataset=synthetic_native`):
batches of one at native size, odd sizes through the decoder's crops, both orientations.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm.auto import tqdm

from fcn_ablation.files import atomic_path

GENERATOR_VERSION = 2
IMAGE_DIR = "Imgs"


def _polygon(rng: np.random.Generator, kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    angle = rng.uniform(0, 2 * np.pi)
    if kind == "ellipse":
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        ax, ay = r, r * rng.uniform(0.45, 1.0)
        x, y = ax * np.cos(t), ay * np.sin(t)
    elif kind == "rectangle":
        ax, ay = r, r * rng.uniform(0.4, 1.0)
        x, y = np.array([-ax, ax, ax, -ax]), np.array([-ay, -ay, ay, ay])
    elif kind == "triangle":
        t = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.3, 0.3, 3)
        x, y = r * 1.2 * np.cos(t), r * 1.2 * np.sin(t)
    else:  # star
        n = int(rng.integers(5, 8))
        t = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
        rad = np.where(np.arange(2 * n) % 2 == 0, r * 1.2, r * rng.uniform(0.5, 0.7))
        x, y = rad * np.cos(t), rad * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return [(cx + c * a - s * b, cy + s * a + c * b) for a, b in zip(x, y)]


def _shape_mask(hw: tuple[int, int], points) -> np.ndarray:
    canvas = Image.new("L", hw[::-1], 0)
    ImageDraw.Draw(canvas).polygon(points, fill=255)
    return np.asarray(canvas) > 127


def _smooth_field(rng: np.random.Generator, hw: tuple[int, int], cells: int) -> np.ndarray:
    grid = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    return np.asarray(grid.resize(hw[::-1], Image.BICUBIC), dtype=np.float32) / 255


def _stripes(rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray, amplitude: float) -> np.ndarray:
    theta, freq = rng.uniform(0, np.pi), rng.uniform(5, 14)
    return amplitude * np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + rng.uniform(0, 2 * np.pi))


def make_sample(rng: np.random.Generator, size: int, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One (RGB uint8 image, uint8 0/255 mask) pair, `size` pixels high and `width` (default
    `size`) wide. Shapes scale with the shorter side; coordinates are in units of the height."""
    h, w = size, width or size
    hw, side = (h, w), min(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / size
    # Background: two colours blended by a smooth field, strong stripes, noise.
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    field = _smooth_field(rng, hw, 4)[..., None]
    img = c0 * (1 - field) + c1 * field
    img += _stripes(rng, xx, yy, rng.uniform(25, 55))[..., None]
    # Distractors: many small shapes of any colour, half of them striped like the background.
    for _ in range(int(rng.integers(10, 24))):
        kind = str(rng.choice(["ellipse", "rectangle", "triangle", "star"]))
        pts = _polygon(rng, kind, rng.uniform(0, w), rng.uniform(0, h), side * rng.uniform(0.03, 0.09))
        shape = _shape_mask(hw, pts)
        texture = _stripes(rng, xx, yy, rng.uniform(20, 50)) if rng.random() < 0.5 else 0
        img[shape] = rng.uniform(0, 255, 3) + (texture[shape][:, None] if np.ndim(texture) else 0)
    bg_mean = img.reshape(-1, 3).mean(0)
    # Salient objects: one to three large, compact, shaded shapes.
    mask = np.zeros(hw, dtype=bool)
    for _ in range(int(rng.choice([1, 1, 1, 2, 2, 3]))):
        kind = str(rng.choice(["ellipse", "rectangle", "triangle", "star"]))
        r = side * rng.uniform(0.13, 0.26)
        cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
        shape = _shape_mask(hw, _polygon(rng, kind, cx, cy, r))
        colour = rng.uniform(0, 255, 3)
        while np.linalg.norm(colour - bg_mean) < 90:
            colour = rng.uniform(0, 255, 3)
        shade = (xx - cx / size) * rng.uniform(-60, 60) + (yy - cy / size) * rng.uniform(-60, 60)
        img[shape] = colour + shade[shape][:, None]
        mask |= shape
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), mask.astype(np.uint8) * 255


def image_size(
    seed: int, index: int, size: int, width: int | None = None, short_side: tuple[int, int] | None = None
) -> tuple[int, int]:
    """(height, width) of image `index`: `size` x `width` (default square), or, with `short_side`,
    the long side `size` and the short side drawn from `short_side` (inclusive), either orientation.
    A stream of its own per image, so fixed-size sets keep the pixels they always had."""
    if short_side is None:
        return size, width or size
    lo, hi = short_side
    rng = np.random.default_rng([seed, index, 1])
    short = int(rng.integers(lo, hi + 1))
    return (short, size) if rng.random() < 0.5 else (size, short)


def check_short_side(size: int, short_side) -> tuple[int, int] | None:
    """`short_side` as a (lo, hi) pair, or a `ConfigError` naming the setting."""
    from fcn_ablation.errors import ConfigError

    if short_side is None:
        return None
    pair = tuple(int(v) for v in short_side)
    if len(pair) != 2 or not 1 <= pair[0] <= pair[1] <= size:
        raise ConfigError(
            f"dataset.synthetic.short_side: [lo, hi] with 1 <= lo <= hi <= dataset.synthetic.size ({size}), got "
            f"{list(short_side)}"
        )
    return pair


def synthetic_root(
    cache_dir: str | Path,
    num_images: int,
    size: int,
    seed: int,
    width: int | None = None,
    short_side: tuple[int, int] | None = None,
) -> Path:
    """Cache location of one parameterisation: different settings never share a directory."""
    shape = f"{size}x{width}" if width and width != size else f"{size}"
    if short_side is not None:
        shape = f"{size}-short{short_side[0]}-{short_side[1]}"
    return Path(cache_dir) / f"synthetic-v{GENERATOR_VERSION}-n{num_images}-s{shape}-seed{seed}"


def generate(
    root: str | Path,
    num_images: int,
    size: int,
    seed: int,
    width: int | None = None,
    short_side: tuple[int, int] | None = None,
) -> Path:
    """Write the data set to `root` unless it is complete there; atomic (`files.atomic_path`)."""
    root = Path(root)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "num_images": num_images,
        "size": size,
        "width": width or size,
        "seed": seed,
        **({"short_side": list(short_side)} if short_side is not None else {}),
    }
    if (root / "manifest.json").is_file():
        return root
    with atomic_path(root, folder=True, keep_existing=True) as tmp:  # another process first: theirs is kept
        out = tmp / IMAGE_DIR
        out.mkdir()
        for i in tqdm(range(num_images), desc=f"writing synthetic data set to {root}", leave=False):
            rng = np.random.default_rng([seed, i])
            img, mask = make_sample(rng, *image_size(seed, i, size, width, short_side))
            Image.fromarray(img).save(out / f"{i}.jpg", quality=92)
            Image.fromarray(mask).save(out / f"{i}.png")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root

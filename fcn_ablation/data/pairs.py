"""Images beside binary masks, paired by file stem, and the rules that decode them.

One decoder for every data set and for the validating scan (`scan.py`), so that what the scan
accepts is exactly what training reads: images in any PIL mode become RGB (grey, CMYK, RGBA,
palette), masks become booleans (0/255, 0/1, greyscale thresholded at 128, 16-bit likewise).
Both are turned upright by their EXIF orientation tag first, as every image viewer shows them
(a phone's portrait JPEG is stored sideways with a tag that says so): a mask drawn over what a
viewer shows then lies over its object, whatever the image's shape.

A stem is one pair. Two images (or two masks) of one stem, or a file that is not a regular file
(a named pipe would block the first read for ever), make that stem a bad pair, named, never a
silent choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fcn_ablation.data.splits import read_names
from fcn_ablation.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg")  # beside the masks, as in MSRA10K, images are JPEGs
MASK_SUFFIXES = (".png", ".bmp")
OWN_FOLDER_IMAGE_SUFFIXES = IMAGE_SUFFIXES + (".png", ".bmp", ".tif", ".tiff")  # in a folder of their own


def image_suffixes(images_at: Path, masks_at: Path) -> tuple[str, ...]:
    return IMAGE_SUFFIXES if Path(images_at).resolve() == Path(masks_at).resolve() else OWN_FOLDER_IMAGE_SUFFIXES


class BadPair(DataError):
    """One image/mask pair cannot be used; `file` is the culprit, `problem` says why."""

    def __init__(self, file: Path, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file, self.problem = Path(file), problem


DEFAULT_MASK_THRESHOLD = 0.5  # the share of full scale a grey-level mask pixel needs to be salient


@dataclass(frozen=True)
class Pair:
    stem: str
    image: Path
    mask: Path
    mask_threshold: float = DEFAULT_MASK_THRESHOLD  # the data set's (`dataset.mask_threshold`): how its mask reads


@dataclass
class PairListing:
    """What a folder pair holds: the pairs, and what could not be paired or is not ours."""

    pairs: list[Pair]
    images_without_mask: list[Path] = field(default_factory=list)
    masks_without_image: list[Path] = field(default_factory=list)
    other_files: list[Path] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)  # {"stem", "file", "problem"}: ambiguous or not regular files

    @property
    def stems(self) -> list[str]:
        """Every stem with an image, usable or not: what the split files cover."""
        return [p.stem for p in self.pairs] + [p.stem for p in self.images_without_mask] + [b["stem"] for b in self.bad]


def list_pairs(
    images_at: Path, masks_at: Path, mask_threshold: float = DEFAULT_MASK_THRESHOLD, image_exts=None, mask_exts=None
) -> PairListing:
    """Pair `images_at/*.jpg` with `masks_at/*.png` by stem; sorted naturally (2 before 10).
    `image_exts`/`mask_exts` (".jpg", ...): the suffixes that count, where a data set names its own."""
    images: dict[str, list[Path]] = {}
    masks: dict[str, list[Path]] = {}
    other: list[Path] = []
    img_suffixes = tuple(image_exts) if image_exts else image_suffixes(images_at, masks_at)
    mask_suffixes = tuple(mask_exts) if mask_exts else MASK_SUFFIXES
    for d, suffixes, into in ((images_at, img_suffixes, images), (masks_at, mask_suffixes, masks)):
        for p in sorted(d.iterdir()):
            if p.suffix.lower() in suffixes:
                into.setdefault(p.stem, []).append(p)
            elif p.is_file() and p.suffix.lower() not in img_suffixes + mask_suffixes and p not in other:
                other.append(p)
    bad = {}
    for kind, found in (("image", images), ("mask", masks)):
        for stem, files in found.items():
            problem = _file_problem(kind, files)
            if problem and stem not in bad and (kind == "image" or stem in images):
                bad[stem] = {"stem": stem, "file": str(problem[0]), "problem": problem[1]}
    one = {stem: files[0] for stem, files in images.items() if stem not in bad}
    mask = {stem: files[0] for stem, files in masks.items() if stem not in bad}
    return PairListing(
        pairs=[Pair(s, one[s], mask[s], mask_threshold) for s in sorted(set(one) & set(mask), key=_natural)],
        images_without_mask=[one[s] for s in sorted(set(one) - set(mask), key=_natural)],
        masks_without_image=[mask[s] for s in sorted(set(mask) - set(images), key=_natural)],
        other_files=sorted(other),
        bad=[bad[s] for s in sorted(bad, key=_natural)],
    )


def _file_problem(kind: str, files: list[Path]) -> tuple[Path, str] | None:
    """Why the files found for one stem's image (or mask) cannot be used, if they cannot."""
    for f in files:
        if not f.is_file():  # follows links; a pipe, socket, device, folder or dangling link is not
            article = "an" if kind == "image" else "a"
            what = (
                "a folder"
                if f.is_dir()
                else "a dangling link"
                if f.is_symlink() and not f.exists()
                else "a named pipe, socket or device"
            )
            return f, f"{what}, not {article} {kind} file (only regular files, or links to them, are read)"
    if len(files) > 1:
        names = " and ".join(f.name for f in files)
        return files[0], f"two {kind}s for one stem ({names} in {files[0].parent}); keep one of them"
    return None


def _natural(stem: str):
    return (0, int(stem), "") if stem.isdigit() else (1, 0, stem)


# EXIF orientation tag values that swap width and height (the image is stored on its side).
_TRANSPOSING = (5, 6, 7, 8)
_ORIENTATION = 0x0112


def upright(im: Image.Image) -> Image.Image:
    """`im` as a viewer shows it: turned by its EXIF orientation tag, if it has one."""
    if im.getexif().get(_ORIENTATION, 1) in (None, 1):
        return im
    return ImageOps.exif_transpose(im)


def upright_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image as decoded here (orientation applied), without decoding it."""
    with Image.open(path) as im:
        w, h = im.size
        return (w, h) if im.getexif().get(_ORIENTATION, 1) in _TRANSPOSING else (h, w)


def decode_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3), upright; the whole file is decoded, so a truncated JPEG fails here."""
    try:
        with Image.open(path) as im:
            im.load()
            im = upright(im)
            if im.mode in ("I;16", "I;16B", "I", "F"):  # high-depth grey: scale to 8 bits first
                arr = np.asarray(im, dtype=np.float64)
                im = Image.fromarray((arr * 255 / max(arr.max(), 1)).astype(np.uint8))
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise BadPair(path, f"cannot read the image ({err})") from err


def decode_mask(path: Path, threshold: float = DEFAULT_MASK_THRESHOLD) -> np.ndarray:
    """Boolean (H, W): values {0, 1} as they are; otherwise salient at `threshold` of full scale or
    above (0.5: 128 and up of 255; a 16-bit mask's scale is 65535 when it uses values above 255).
    Colour masks are refused."""
    try:
        with Image.open(path) as im:
            im.load()
            im = upright(im)
            if im.mode == "1":
                return np.asarray(im, dtype=bool)
            if im.mode in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
                values = np.asarray(im)
            else:  # palette, RGB(A), LA, CMYK: grey only if the channels agree
                rgb = np.asarray(im.convert("RGB"))
                if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
                    raise BadPair(path, f"mask has colours (mode {im.mode}); expected a greyscale or binary mask")
                values = rgb[..., 0]
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise BadPair(path, f"cannot read the mask ({err})") from err
    top = values.max() if values.size else 0
    if top <= 1:
        return values >= threshold if values.dtype.kind == "f" else values == 1
    full = 65535.0 if top > 255 else 255.0
    return values >= threshold * full


def read_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 HxWx3, bool HxW), or `BadPair` naming the file at fault."""
    image, mask = decode_image(pair.image), decode_mask(pair.mask, pair.mask_threshold)
    if image.shape[:2] != mask.shape:
        h, w = image.shape[:2]
        raise BadPair(
            pair.mask, f"mask is {mask.shape[1]}x{mask.shape[0]}, its image {pair.image.name} is {w}x{h} (W x H)"
        )
    return image, mask


def summary_test_pairs(summary: dict, dataset: dict) -> list[Pair]:
    """The test-split pairs a job was scored on, read back from its split file: `summary` is the
    data module's summary the job's record keeps (`Record.data`), `dataset` its config's section."""
    layout = summary.get("data_layout") or {
        "images": dataset["image_dir"],
        "masks": dataset["mask_dir"],
    }  # older records
    root = Path(summary["data_root"])
    listing = list_pairs(
        root / layout["images"],
        root / layout["masks"],
        float(dataset.get("mask_threshold", DEFAULT_MASK_THRESHOLD)),  # older records: the default
        dataset.get("image_exts"),
        dataset.get("mask_exts"),
    )
    by_stem = {p.stem: p for p in listing.pairs}
    skipped = {bad["stem"] for bad in summary.get("data_skipped", [])}
    return [by_stem[s] for s in read_names(Path(summary["split_dir"]) / "test.txt") if s not in skipped]

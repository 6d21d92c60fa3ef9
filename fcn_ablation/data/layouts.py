"""Finding a data set under its root, in any of the layouts it is distributed in.

The candidate layouts are config (`dataset.layouts`), tried in order, in the root itself and
then one folder down (an archive unpacked into `root/MSRA10K_Imgs_GT/`). A root that matches
none gets an error listing what was looked for and what is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fcn_ablation.data.pairs import MASK_SUFFIXES, image_suffixes
from fcn_ablation.errors import DataError


def root_hints(ds) -> str:
    """What can bring a data set's files into place, for this data set only (its `dataset` section)."""
    env = f" (or set {ds.root_env})" if ds.root_env else ""
    hints = [f"pass dataset.root=/path/to/{ds.name}{env}"]
    if ds.sources:
        hints.append("pass dataset.download=true to fetch it")
    elif ds.get("homepage"):
        hints.append(f"download it from {ds.homepage} and unpack it there")
    if ds.generate:
        hints.append("leave dataset.root unset to generate it (dataset.generate=true)")
    return ", or ".join(hints)


@dataclass(frozen=True)
class Layout:
    images: Path  # absolute folders
    masks: Path

    def describe(self, root: Path) -> dict:
        return {"images": str(self.images.relative_to(root)), "masks": str(self.masks.relative_to(root))}


def _count(d: Path, suffixes) -> int:
    return sum(1 for p in d.iterdir() if p.suffix.lower() in suffixes)


def resolve_layout(
    root: Path, layouts, dataset: str, hints: str = "set dataset.root", image_exts=None, mask_exts=None
) -> Layout:
    """The first of `layouts` ({images, masks} relative folders) found under `root` with images;
    `hints` says how this data set's files can be brought into place; `image_exts`/`mask_exts`:
    the suffixes that count, where the data set names them (`dataset.image_exts`)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: data set root does not exist; {hints}")
    if not root.is_dir():
        raise DataError(f"{root}: dataset.root is a file, not a folder")
    bases = [root] + sorted(p for p in root.iterdir() if p.is_dir() and p.name != "splits")
    for lay in layouts:  # the layouts in their order of preference, each in the root, then one folder down
        for base in bases:
            images, masks = base / lay.images, base / lay.masks
            if (
                images.is_dir()
                and masks.is_dir()
                and _count(images, tuple(image_exts or ()) or image_suffixes(images, masks))
                and _count(masks, tuple(mask_exts or ()) or MASK_SUFFIXES)
            ):
                return Layout(images, masks)
    img, msk = ("|".join(f"*{e}" for e in exts) if exts else default for exts, default in
                ((image_exts, "*.jpg"), (mask_exts, "*.png")))  # fmt: skip
    wanted = "; ".join(f"{lay.images}/{img} + {lay.masks}/{msk}" for lay in layouts)
    found = _describe_tree(root)
    raise DataError(
        f"{root}: no {dataset} layout found (looked for {wanted}, in the root and one folder down); found {found}. Point dataset.root at the right folder or add an entry to dataset.layouts"
    )


def _describe_tree(root: Path, limit: int = 8) -> str:
    entries = sorted(root.iterdir())
    if not entries:
        return "an empty folder"
    parts = []
    for p in entries[:limit]:
        if p.is_dir():
            n_jpg, n_png = _count(p, (".jpg", ".jpeg")), _count(p, MASK_SUFFIXES)
            n_other = sum(1 for f in p.iterdir() if f.is_file()) - n_jpg - n_png
            parts.append(f"{p.name}/ ({n_jpg} JPEG, {n_png} PNG/BMP, {n_other} other files)")
        else:
            parts.append(p.name)
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return ", ".join(parts) + more

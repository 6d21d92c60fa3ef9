"""Non-learned saliency rules, as a floor the trained network must clear on the same test images.

- centre prior: a Gaussian at the image centre (standard deviation a quarter of each side),
  nothing learned from the image: objects in photographs sit near the middle, so a network that
  learned only *where* objects usually are scores about this. Its max F hardly depends on the
  width chosen (every threshold cuts an ellipse of the same shape), its mean F, MAE, S and E do;
- grey level: the map is the image's luminance (bright = salient), or its inverse, whichever
  scores better on the set: the most generous reading of "threshold the grey level";
- colour contrast: distance of each (slightly blurred) pixel's colour from the image's mean
  colour, the frequency-tuned rule of Achanta et al. (2009) in RGB.
Every rule is scored by the network's own metrics (`SaliencyMetrics`), at each mask's own size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from PIL import Image, ImageFilter
from tqdm.auto import tqdm

from fcn_ablation.data.pairs import read_pair
from fcn_ablation.evaluation.metrics import SaliencyMetrics
from fcn_ablation.evaluation.registry import HEADLINE

CENTRE_PRIOR = "centre_prior"
CENTRE_SIGMA = 0.25  # the Gaussian's standard deviation, as a share of each side


def centre_prior_map(height: int, width: int, sigma: float = CENTRE_SIGMA) -> np.ndarray:
    """(height, width) in (0, 1]: 1 at the centre, falling as a Gaussian of `sigma` x each side."""
    y = (np.arange(height) - (height - 1) / 2) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2) / (sigma * width)
    return np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))


def grey_map(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).convert("L"), dtype=np.float64) / 255


def colour_contrast_map(image: np.ndarray) -> np.ndarray:
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1)), dtype=np.float64)
    dist = np.linalg.norm(blurred - image.reshape(-1, 3).mean(0), axis=-1)
    return dist / max(dist.max(), 1e-12)


# rule -> map from the decoded image; `grey` is scored both ways and keeps the better (`rule_scores`)
RULES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    CENTRE_PRIOR: lambda image: centre_prior_map(*image.shape[:2]),
    "grey": grey_map,
    "grey_inverted": lambda image: 1 - grey_map(image),
    "colour_contrast": colour_contrast_map,
}
LABELS = {CENTRE_PRIOR: "centre prior", "grey": "grey level", "colour_contrast": "colour contrast"}  # as printed


def rule_scores(pairs: Iterable, rules: Iterable[str] = tuple(RULES), progress: bool = False) -> dict[str, dict]:
    """{rule: {metric: mean over `pairs`}} (the keys of `SaliencyMetrics.compute`, as a record's
    `scores`) for each of `rules`; `grey` and `grey_inverted` together give one `grey` entry, the
    better by max F."""
    rules = list(rules)
    metrics = {rule: SaliencyMetrics() for rule in rules}
    pairs = list(pairs)
    for pair in tqdm(pairs, desc="non-learned rules", disable=not progress, leave=False):
        image, mask = read_pair(pair)
        gt = torch.from_numpy(mask)
        for rule in rules:
            metrics[rule].update(torch.from_numpy(RULES[rule](image)).float(), gt)
    out = {rule: {k: float(v) for k, v in m.compute().items() if v.dim() == 0} for rule, m in metrics.items()}
    if "grey" in out and "grey_inverted" in out:
        grey, inverted = out.pop("grey"), out.pop("grey_inverted")
        out["grey"] = grey if grey[HEADLINE] >= inverted[HEADLINE] else inverted
    return out


def heuristic_max_f(pairs) -> dict[str, float]:
    """Max F of each rule over `pairs` (Pair objects)."""
    return {rule: s[HEADLINE] for rule, s in rule_scores(pairs).items()}


def save_rule_maps(pairs: Iterable, root, set_name: str, rules: Iterable[str] = (CENTRE_PRIOR, "colour_contrast"),
                   progress: bool = False) -> list:  # fmt: skip
    """Each rule's map of every image of `pairs` as an 8-bit PNG under `<root>/<rule>/<set_name>/`
    (`evaluation.maps`): methods whose maps any tool, ours included (`fcn-ablation-maps`), scores."""
    from fcn_ablation.evaluation.maps import write_map
    from fcn_ablation.results_layout import maps_dir

    rules, written = list(rules), []
    for pair in tqdm(list(pairs), desc="saving the rules' maps", disable=not progress, leave=False):
        image, _ = read_pair(pair)
        for rule in rules:
            written.append(write_map(RULES[rule](image), maps_dir(root, rule, set_name) / f"{pair.stem}.png"))
    return written

"""Non-learned saliency rules, as a floor the trained network must clear on the same test set.

- grey level: the map is the image's luminance (bright = salient), or its inverse, whichever
  scores better on the set: the most generous reading of "threshold the grey level";
- colour contrast: distance of each (slightly blurred) pixel's colour from the image's mean
  colour, the frequency-tuned rule of Achanta et al. (2009) in RGB.
Both are scored by the same `FMeasure` as the network.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageFilter

from fcn_ablation.data.pairs import read_pair
from fcn_ablation.evaluation.metrics import FMeasure


def grey_map(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).convert("L"), dtype=np.float64) / 255


def colour_contrast_map(image: np.ndarray) -> np.ndarray:
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1)), dtype=np.float64)
    dist = np.linalg.norm(blurred - image.reshape(-1, 3).mean(0), axis=-1)
    return dist / max(dist.max(), 1e-12)


def heuristic_max_f(pairs) -> dict[str, float]:
    """Max F of each rule over `pairs` (Pair objects)."""
    metrics = {"grey": FMeasure(), "grey_inverted": FMeasure(), "colour_contrast": FMeasure()}
    for pair in pairs:
        image, mask = read_pair(pair)
        gt = torch.from_numpy(mask)
        grey = grey_map(image)
        metrics["grey"].update(torch.from_numpy(grey), gt)
        metrics["grey_inverted"].update(torch.from_numpy(1 - grey), gt)
        metrics["colour_contrast"].update(torch.from_numpy(colour_contrast_map(image)), gt)
    out = {k: m.compute()["max_f"].item() for k, m in metrics.items()}
    out["grey"] = max(out.pop("grey"), out.pop("grey_inverted"))
    return out

"""VGG16 ImageNet weights in torchvision's state-dict format, converted to FCN-8s layers.

The standard FCN conversion: the 13 convolutions map one to one; the classifier's first two
linear layers become fc6 (7x7 convolution) and fc7 (1x1) by reshaping their weights. The
weights expect torchvision's input (RGB in [0, 1], ImageNet mean and std); `fold_input` moves
that normalisation into conv1_1 so that they serve any `dataset.mean/std/channel_order`, the
paper's BGR Caffe-mean input included.
"""

from __future__ import annotations

from pathlib import Path

import torch

from fcn_ablation.data.choices import ChannelOrder
from fcn_ablation.errors import DataError, why_unreadable
from fcn_ablation.models.arch import CONV_LAYERS

TORCHVISION_FEATURES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # conv indices in vgg16.features
# torchvision's input space in this project's units (0..255, RGB): mean and std times 255.
TORCHVISION_INPUT = {"channel_order": "rgb", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]}


def fcn_state_from_torchvision(sd: dict[str, torch.Tensor], origin: str) -> dict[str, torch.Tensor]:
    """conv1_1..conv5_3, fc6, fc7 from a torchvision `vgg16` state dict."""
    names = {f"features.{i}": name for i, name in zip(TORCHVISION_FEATURES, CONV_LAYERS)}
    names.update({"classifier.0": "fc6", "classifier.3": "fc7"})
    shapes = {"classifier.0.weight": (4096, 25088), "classifier.3.weight": (4096, 4096)}
    out = {}
    for tv, fcn in names.items():
        for kind in ("weight", "bias"):
            key = f"{tv}.{kind}"
            if key not in sd:
                raise DataError(
                    f"{origin}: no {key!r}; expected torchvision's vgg16 state dict (features.*, classifier.*)"
                )
            out[f"{fcn}.{kind}"] = sd[key].float()
    for key, shape in shapes.items():
        if tuple(sd[key].shape) != shape:
            raise DataError(f"{origin}: {key} has shape {tuple(sd[key].shape)}, expected {shape} (VGG16 at 224x224)")
    out["fc6.weight"] = out["fc6.weight"].view(4096, 512, 7, 7)
    out["fc7.weight"] = out["fc7.weight"].view(4096, 4096, 1, 1)
    return out


def load_vgg16(path: str | None, url: str) -> tuple[dict[str, torch.Tensor], str]:
    """(FCN-layer state dict, where it came from): a local file, else `url` via torch hub's cache."""
    try:
        if path:
            origin = str(Path(path).expanduser())
            sd = torch.load(origin, map_location="cpu", weights_only=True)
        else:
            origin = url
            sd = torch.hub.load_state_dict_from_url(
                url, map_location="cpu", progress=True, check_hash=True, weights_only=True
            )  # the hub cache is a file like any other
    except FileNotFoundError as err:
        raise DataError(f"{path}: VGG16 weights file not found (init.path)") from err
    except Exception as err:  # network, hash or unpickling failures: all mean "no usable weights"
        raise DataError(
            f"{path or url}: cannot load VGG16 weights ({why_unreadable(err)}); download the file where the "
            f"internet is reachable and pass init.path=/path/to/vgg16.pth"
        ) from err
    return fcn_state_from_torchvision(sd, origin), origin


def fold_input(state: dict[str, torch.Tensor], source_space: dict, target_space: dict) -> None:
    """Rewrite conv1_1 in place so that on `target_space` input it computes what it computed on
    `source_space` input. Spaces: {channel_order, mean (RGB), std (RGB)} in 0..255 units.

    With x_t the target input and v = x_t * std_t + mean_t the RGB pixel, the source saw
    (v - mean_s) / std_s; conv1_1 is linear, so scale its input channels and shift its bias.
    Exact away from the image border (padding is zero in either space)."""
    w, b = state["conv1_1.weight"], state["conv1_1.bias"]
    ms, ss = torch.tensor(source_space["mean"]), torch.tensor(source_space["std"])
    mt, st = torch.tensor(list(target_space["mean"])), torch.tensor(list(target_space["std"]))
    rgb = w if ChannelOrder(source_space["channel_order"]) is ChannelOrder.rgb else w.flip(1)  # source channels as RGB
    new_b = b + (rgb * ((mt - ms) / ss).view(1, 3, 1, 1)).sum((1, 2, 3))
    new_w = rgb * (st / ss).view(1, 3, 1, 1)
    state["conv1_1.weight"] = (
        new_w if ChannelOrder(target_space["channel_order"]) is ChannelOrder.rgb else new_w.flip(1)
    )
    state["conv1_1.bias"] = new_b


def stand_in_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random values under the real key names and shapes of torchvision's `vgg16` (553 MB as a
    file): what rehearsals and tests load where ImageNet's weights cannot be downloaded. The
    speed and memory of a job from it are a real one's; its scores are not."""
    from fcn_ablation.models.arch import BASE_WIDTHS, WIDTH_LAYERS

    g = torch.Generator().manual_seed(seed)
    sd, in_ch = {}, 3
    for i, name in zip(TORCHVISION_FEATURES, WIDTH_LAYERS):
        out = BASE_WIDTHS[name]
        sd[f"features.{i}.weight"] = torch.randn(out, in_ch, 3, 3, generator=g) * 0.05
        sd[f"features.{i}.bias"] = torch.randn(out, generator=g) * 0.05
        in_ch = out
    for i, shape in ((0, (4096, 25088)), (3, (4096, 4096)), (6, (1000, 4096))):
        sd[f"classifier.{i}.weight"] = torch.randn(*shape, generator=g) * 0.01
        sd[f"classifier.{i}.bias"] = torch.randn(shape[0], generator=g) * 0.01
    return sd


def write_stand_in(path: str | Path, seed: int = 0) -> Path:
    """`stand_in_state` saved where `init.path` can point (`fcn-ablation-vgg16-stand-in PATH`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(stand_in_state(seed), path)
    return path

"""The FCN-8s layer table: the one place that says which layers exist and how they connect.

The network (`fcn8s.py`), the analytic cost (`cost.py`) and the kernel transfer (`transfer.py`)
all read it: the trunk as a table of stages, the decoder as a list of steps (`DECODER`), so a
shape or a connection can never be right in one and wrong in another. Values follow the Caffe `voc-fcn8s`
model (Long et al.) and Table 1 of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

# VGG16 trunk: five stages, each closed by a 2x2/2 max-pool with ceil mode.
STAGES: tuple[tuple[str, ...], ...] = (
    ("conv1_1", "conv1_2"),
    ("conv2_1", "conv2_2"),
    ("conv3_1", "conv3_2", "conv3_3"),
    ("conv4_1", "conv4_2", "conv4_3"),
    ("conv5_1", "conv5_2", "conv5_3"),
)
CONV_LAYERS: tuple[str, ...] = tuple(name for stage in STAGES for name in stage)
FC_LAYERS: tuple[str, ...] = ("fc6", "fc7")
# Layers whose output width an experiment may change, in network order.
WIDTH_LAYERS: tuple[str, ...] = CONV_LAYERS + FC_LAYERS

# Table 1: output channels of the base model.
BASE_WIDTHS: dict[str, int] = {
    "conv1_1": 64, "conv1_2": 64,
    "conv2_1": 128, "conv2_2": 128,
    "conv3_1": 256, "conv3_2": 256, "conv3_3": 256,
    "conv4_1": 512, "conv4_2": 512, "conv4_3": 512,
    "conv5_1": 512, "conv5_2": 512, "conv5_3": 512,
    "fc6": 4096, "fc7": 4096,
}  # fmt: skip


# The input size costs and speeds are reported at (height, width): a typical MSRA10K image, 400x300.
TYPICAL_HW: tuple[int, int] = (300, 400)

# Trunk layers: kernel size and padding (conv1_1's 100 makes the output cover any input size).
KERNEL: dict[str, int] = {**{n: 3 for n in CONV_LAYERS}, "fc6": 7, "fc7": 1}
PADDING: dict[str, int] = {**{n: 1 for n in CONV_LAYERS}, "conv1_1": 100, "fc6": 0, "fc7": 0}


# The decoder, in the order it runs: every score layer and deconvolution, what it reads, and the
# Caffe crops. The network's forward pass, the analytic cost and the kernel transfer all walk it.
@dataclass(frozen=True)
class Step:
    """One decoder layer; its output width is the number of classes (never thinned).

    - `score`: a 1x1 convolution of the running map (`reads`: the trunk layer it follows);
    - `skip`: a 1x1 convolution of the pooled output of the stage `reads` closes, cropped at
      `crop` to the running map's size and added to it; under at-once training its input is
      first multiplied by `at_once_scale` (Caffe's `Scale` layers);
    - `up`: a bilinear deconvolution (`kernel`, `stride`, no bias) of the running map; with
      `crop`, cropped at that offset to the input image's size: the network's output.
    """

    name: str
    kind: str
    reads: str | None = None
    kernel: int = 1
    stride: int = 1
    crop: int | None = None
    at_once_scale: float = 1.0


DECODER: tuple[Step, ...] = (
    Step("score_fr", "score", reads="fc7"),
    Step("upscore2", "up", kernel=4, stride=2),
    Step("score_pool4", "skip", reads="conv4_3", crop=5, at_once_scale=0.01),
    Step("upscore_pool4", "up", kernel=4, stride=2),
    Step("score_pool3", "skip", reads="conv3_3", crop=9, at_once_scale=0.0001),
    Step("upscore8", "up", kernel=16, stride=8, crop=31),
)
# Score layers and the trunk layer whose channels each reads (pool3/pool4 carry conv3_3/conv4_3's width).
SCORERS: dict[str, str] = {s.name: s.reads for s in DECODER if s.kind != "up"}
UPSCORES: tuple[Step, ...] = tuple(s for s in DECODER if s.kind == "up")

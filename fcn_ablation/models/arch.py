"""The FCN-8s layer table: the one place that says which layers exist and how they connect.

Both the network (`fcn8s.py`) and the analytic cost (`cost.py`) read these constants, so a
shape can never be right in one and wrong in the other. Values follow the Caffe `voc-fcn8s`
model (Long et al.) and Table 1 of the paper.
"""

from __future__ import annotations

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

# Layers whose output width is the number of classes (never thinned).
SCORE_LAYERS: tuple[str, ...] = ("score_fr", "score_pool4", "score_pool3")
UPSCORE_LAYERS: tuple[str, ...] = ("upscore2", "upscore_pool4", "upscore8")

KERNEL: dict[str, int] = {**{n: 3 for n in CONV_LAYERS}, "fc6": 7, "fc7": 1}
PADDING: dict[str, int] = {**{n: 1 for n in CONV_LAYERS}, "conv1_1": 100, "fc6": 0, "fc7": 0}

# Which trunk output each skip scorer reads (pool3/pool4 carry the width of conv3_3/conv4_3).
SKIP_SOURCE: dict[str, str] = {"score_pool4": "conv4_3", "score_pool3": "conv3_3"}

# Deconvolutions: (kernel, stride); Caffe's `bias_term: false`.
UPSCORE: dict[str, tuple[int, int]] = {"upscore2": (4, 2), "upscore_pool4": (4, 2), "upscore8": (16, 8)}

# voc-fcn8s-atonce: pool4 and pool3 scaled before their scorers (Caffe `Scale` layers).
AT_ONCE_SCALE: dict[str, float] = {"score_pool4": 0.01, "score_pool3": 0.0001}

# Caffe Crop offsets of deploy.prototxt: score_pool4c, score_pool3c and the final score.
CROP: dict[str, int] = {"score_pool4": 5, "score_pool3": 9, "upscore8": 31}

# Caffe VGG16 mean pixel, in RGB order (Caffe lists it as BGR 104.01, 116.67, 122.68).
VGG_MEAN_RGB: tuple[float, float, float] = (122.67891434, 116.66876762, 104.00698793)

"""The model code's choices, named where the model code is: the config schema types its keys
with them (`init.source`, `init.rule`, `optimizer.schedule`) and `initialise`, `transfer` and
`module` act on them. Torch-free, so that the schema can name them without importing torch."""

from __future__ import annotations

from enum import Enum


class InitSource(str, Enum):
    scratch = "scratch"  # random initialisation
    imagenet = "imagenet"  # VGG16 ImageNet weights (torchvision's state dict), fc6/fc7 reshaped
    checkpoint = "checkpoint"  # a model.pt this project wrote (`init.path`)
    baseline = "baseline"  # the newest trained baseline of the same data set and settings


class TransferRule(str, Enum):
    first_k = "first_k"  # the paper: the first k kernels, and the first input channels
    random = "random"  # a seeded random subset
    l1_norm = "l1_norm"  # the k kernels of largest L1 norm (magnitude pruning)


class ScheduleName(str, Enum):
    constant = "constant"
    cosine = "cosine"

"""The data pipeline's choices, named where the data code is: the config schema
(`config.schema.DatasetConfig`) types its keys with them, and the data code acts on them (`transforms`:
channel order and resize mode; `datamodule`: the bad-file policy). Torch-free, so that the schema
can name them without importing torch. (`NewPairs` lives in `splits`.)"""

from __future__ import annotations

from enum import Enum


class BadFilePolicy(str, Enum):
    error = "error"  # stop at the first bad pair, naming the file and the problem
    skip = "skip"  # leave bad pairs out; the result record counts and lists them


class ChannelOrder(str, Enum):
    rgb = "rgb"
    bgr = "bgr"  # Caffe's VGG16 was trained on BGR input


class ResizeMode(str, Enum):
    native = "native"  # Caffe FCN: every image at its own size (batch size 1 unless all sizes agree)
    resize = "resize"  # training images resized to `fixed_size` (masks by nearest neighbour)
    pad = "pad"  # shrunk to fit `fixed_size` if larger, then padded; padding is ignored by the loss

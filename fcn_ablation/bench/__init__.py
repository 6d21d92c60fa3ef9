"""Timing: the interleaved inference benchmark, the training benchmark and the metrics benchmark."""

"""Measuring a model: the saliency metrics, the statistics tables and tests use, the non-learned baselines."""

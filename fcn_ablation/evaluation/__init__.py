"""Measuring a model: the saliency metrics, the statistics tables and tests use, the non-learned heuristics (the floor a network must clear)."""

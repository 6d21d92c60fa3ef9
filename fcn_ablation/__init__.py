"""fcn-ablation: what an FCN-8s layer's width buys, measured by Hydra-driven ablation sweeps."""

__version__ = "0.1.0"

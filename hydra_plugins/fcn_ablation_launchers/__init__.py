"""fcn-ablation's Hydra plugins: the cluster launcher (`launcher.py`)."""

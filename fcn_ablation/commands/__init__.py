"""Every entry point, thin: each reads its arguments or composes its config, calls the stages
below, and prints; only this package reaches across stages (the end-of-sweep report included)."""

"""The width search: its space and its Optuna study."""

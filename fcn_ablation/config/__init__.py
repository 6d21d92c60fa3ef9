"""The configuration: the schema Hydra composes onto, the config folder and its YAML check, the
start-up checks, `_target_` sections (instantiation), experiments, and the settings key."""

"""Data sets: the procedural one, and the shared images-beside-masks loader."""

"""The network, its width specification and its cost."""

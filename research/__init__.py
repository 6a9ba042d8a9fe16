"""Experiment runners and data of the sentiment models: not shipped in the wheel (see README.md)."""

"""Figures of a model on a prompt list (python -m pipelines evaluate)."""

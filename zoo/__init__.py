"""The model zoo: registry, hub resolution and the model cache."""

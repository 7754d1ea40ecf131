"""Serving Atelier's models past one process: Ray Serve deployments (ray_backend.py) and Ray Data
batch jobs (ray_batch.py). Optional: needs `pip install -r requirements-ray.txt`; nothing else in
Atelier imports this package unless asked to run on Ray."""

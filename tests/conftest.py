"""Shared test set-up: a fixed hypothesis profile and the Agg backend."""

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# One fixed profile: derandomized (the same examples every run), no deadline
# (the machines are shared and noisy). CHAINOPT_HYPOTHESIS=thorough runs more.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=5000)
settings.load_profile(os.environ.get("CHAINOPT_HYPOTHESIS", "ci"))

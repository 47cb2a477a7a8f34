"""Shared test set-up: a fixed hypothesis profile, the Agg backend, and short benchmark measurements on request."""

import gc
import importlib
import os

import matplotlib
import pytest
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


@pytest.fixture(scope="module")
def short_measurements():
    """Each benchmark measurement lasts about 1 ms, not 20 (or 50 for the peak rate), for a module's tests.

    For tests of what the harness records and prints, never of how long
    anything took: the counts, rows, checks and formats stay the same.
    """
    harness = importlib.import_module("chainopt.bench.harness")
    real = harness.autorange
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(harness, "autorange", lambda funcs, min_time, **kw: real(funcs, min(min_time, 0.001), **kw))
        yield


# Collection builds what lives to the end of the run (test modules and the library, fixtures' definitions,
# hypothesis strategies) and acyclic garbage (the ASTs of assertion rewriting): the cyclic GC, whose full
# collections walked all of it again and again (about 1.5 s of a run here), is off until collection ends.
gc.disable()


def pytest_collection_finish(session):
    """Move what collection built out of the cyclic GC (gc.freeze), then turn the GC back on for the tests.

    Without the freeze every full collection of the run (about 20) walks those objects again, 0.15 s each on
    this machine. Objects the tests create are collected as usual.
    """
    gc.freeze()
    gc.enable()

"""Smoke tests of experiments/frameworks.py: tiny cases; skips a framework that is not installed."""

import os
from importlib.util import find_spec

import pandas as pd
import pytest

from chainopt.experiments import frameworks

TINY = {"tiny": ("mlp", (6, 3, 2, 5)), "res": ("resnet", (4, 2))}


def test_without_frameworks_the_page_says_nothing_was_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(frameworks, "FRAMEWORKS", ())
    result = frameworks.main(tmp_path, quick=True)
    assert result["reading"] == "No framework installed: nothing measured."
    assert [p.name for p in result["paths"]] == ["frameworks.md"]


@pytest.mark.slow  # seconds: the frameworks' own start-up (torch loads dynamo on its first jvp), JAX compiles
@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_tiny_run_writes_every_file_and_restores_the_cores(framework, tmp_path, monkeypatch):
    if find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    monkeypatch.setattr(frameworks, "QUICK_CASES", TINY)
    monkeypatch.setattr(frameworks, "FRAMEWORKS", (framework,))
    before = os.sched_getaffinity(0)
    result = frameworks.main(tmp_path, quick=True)
    assert os.sched_getaffinity(0) == before
    assert sorted(p.name for p in result["paths"]) == ["frameworks.csv", "frameworks.md", "frameworks.png"]
    df = pd.read_csv(tmp_path / "frameworks.csv")
    assert set(df["method"]) == {"chainopt", "jacfwd", "jacrev"} and set(df["shape"]) == set(TINY)
    # the predicted costs are the exact plan costs: chainopt's is never above the better pure mode's
    for _, sub in df.groupby("shape"):
        costs = sub.set_index("method")["predicted_madds"]
        assert costs["chainopt"] <= min(costs["jacfwd"], costs["jacrev"])
    page = (tmp_path / "frameworks.md").read_text()
    assert f"## {framework}" in page and "| tiny (6x3x3x2x2x5)" in page

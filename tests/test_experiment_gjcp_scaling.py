"""Smoke test of the generalized DP benchmark: quick mode writes its files; the chains are as described."""

import numpy as np
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.strategies import plan
from chainopt.experiments import gjcp_scaling


def test_random_factors_chain_and_respect_the_ranges():
    for diagonal in (False, True):
        fs = gjcp_scaling.random_factors(40, np.random.default_rng(3), diagonal=diagonal)
        assert all(f.n_out == g.n_in for f, g in zip(fs, fs[1:]))
        for k, f in enumerate(fs):
            assert f.diagonal == (diagonal and k % 2 == 1)
            assert 1 <= f.n_in <= 1000 and 1 <= f.n_out <= 1000
            limit = f.n_in if f.diagonal else f.n_in * f.n_out
            assert 1 <= f.tangent == f.adjoint == f.tape <= limit


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main_writes_csv_png_markdown(tmp_path, draw):
    with saving_figures(draw, gjcp_scaling) as figs:
        result = gjcp_scaling.main(tmp_path, quick=True, seed=1)
    assert figs.names(tmp_path) == ["gjcp_scaling.csv", "gjcp_scaling.md", "gjcp_scaling.png"]
    figs.check(tmp_path / "gjcp_scaling.png")
    df = pd.read_csv(tmp_path / "gjcp_scaling.csv")
    assert sorted(df["factors"].unique()) == list(gjcp_scaling.QUICK_SIZES)
    assert set(df["family"]) == set(gjcp_scaling.FAMILIES)
    assert (df["min_s"] <= df["seconds"]).all() and (df["seconds"] <= df["max_s"]).all()
    # the costs written are the optimum of the same seeded chains, recomputed through co.plan
    rng = np.random.default_rng([1, 0])
    for q in gjcp_scaling.QUICK_SIZES:
        fs = gjcp_scaling.random_factors(q, rng)
        row = df[(df["family"] == "dense") & (df["factors"] == q)]
        assert int(row["cost"].iloc[0]) == plan(fs).cost <= min(plan(fs, "fwd").cost, plan(fs, "bwd").cost)
    text = (tmp_path / "gjcp_scaling.md").read_text()
    assert "q = 500: not measured" in text and "| q |" in text and "BLAS" in text
    assert result["target_met"] is None and "q = 50" in result["reading"]

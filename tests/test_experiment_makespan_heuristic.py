"""Smoke test of the makespan-heuristic comparison: quick mode writes its files; the numbers are consistent."""

import numpy as np
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.factors import as_factors
from chainopt.core.strategies.makespan import makespan_dp
from chainopt.core.strategies.makespan_bnb import makespan_bnb
from chainopt.experiments import makespan_heuristic


def test_run_orders_critical_path_optimum_dp_sequential():
    df = makespan_heuristic.run((3, 4), chains=3, seed=5, time_limit=2.0)
    assert set(df["machines"]) == {2, 3} and set(df["family"]) == set(makespan_heuristic.FAMILIES)
    assert ((df["q"] > df["machines"]) & (df["machines"] > 1)).all()
    assert df["finished"].all()
    assert (df["critical_path"] <= df["optimum"]).all() and (df["optimum"] <= df["dp"]).all()
    assert (df["dp"] <= df["sequential"]).all()
    assert np.allclose(df["ratio"], df["dp"] / df["optimum"])
    # the same chain gives the same sequential optimum on every machine count
    assert (df.groupby(["family", "q", "chain"])["sequential"].nunique() == 1).all()


def test_the_summary_counts_a_chain_where_the_heuristic_is_not_optimal():
    # formed Jacobians 5 -> 8 -> 10 -> 8 -> 4 -> 10 -> 8 on 2 machines: the DP's series-parallel schedule
    # takes 960 multiply-adds, branch and bound finds 800 (found by a seeded search)
    factors = as_factors([5, 8, 10, 8, 4, 10, 8])
    assert makespan_dp(factors, 2)[0] == 960
    assert makespan_bnb(factors, 2)[0::2] == (800, True)
    df = pd.DataFrame([{"family": "formed", "q": 6, "machines": 2, "chain": 0, "dp": 960, "optimum": 800,
                        "finished": True, "ratio": 960 / 800, "sequential": 1000, "critical_path": 700}])
    (row,) = makespan_heuristic.summary_table(df)
    assert row["DP optimal"] == "0%" and row["worst DP / optimum"] == "1.2000"


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main_writes_csv_png_markdown(tmp_path, draw):
    with saving_figures(draw, makespan_heuristic) as figs:
        result = makespan_heuristic.main(tmp_path, quick=True)
    assert figs.names(tmp_path) == ["makespan_heuristic.csv", "makespan_heuristic.md", "makespan_heuristic.png"]
    figs.check(tmp_path / "makespan_heuristic.png")
    df = pd.read_csv(tmp_path / "makespan_heuristic.csv")
    assert sorted(df["q"].unique()) == [3, 4, 5] and (df["ratio"] >= 1).all()
    assert result["worst"] == df.loc[df["finished"], "ratio"].max()
    text = (tmp_path / "makespan_heuristic.md").read_text()
    assert "| family | q | machines |" in text and "BLAS" in text

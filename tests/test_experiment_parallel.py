"""Smoke test of the two-machine measurement: quick mode writes its files; predictions are the makespan DP's."""

import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.factors import as_factors
from chainopt.core.strategies import plan
from chainopt.core.strategies.makespan import makespan_dp
from chainopt.experiments import parallel


def test_found_chains_have_a_different_two_machine_tree_that_is_predicted_faster():
    chains = parallel.find_parallel_chains(3, seed=4, low=10, high=60)
    assert list(chains) == ["random-1", "random-2", "random-3"]
    for dims in chains.values():
        p1, p2 = plan(list(dims)), plan(list(dims), "optimal", machines=2)
        assert parallel.tree_splits(p1) != parallel.tree_splits(p2)
        assert p2.makespan == makespan_dp(as_factors(list(dims)), 2)[0] < p1.cost


def test_the_sequential_trees_makespan_on_two_machines_lies_between_p2s_and_its_cost():
    dims = parallel.SHAPES["uniform"]
    p1, p2 = plan(list(dims)), plan(list(dims), "optimal", machines=2)
    assert p2.makespan <= parallel._makespan_of(p1, dims, 2) <= p1.cost
    # forward mode is a path: nothing can run side by side
    assert parallel._makespan_of(p1, dims, 2) == p1.cost == 4 * 500**3


def test_quick_main_writes_csv_png_markdown(tmp_path):
    pytest.importorskip("dask")
    result = parallel.main(tmp_path, quick=True, seed=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "parallel.csv", "parallel.md", "parallel.png", "parallel_rounds.csv"]
    df = pd.read_csv(tmp_path / "parallel.csv")
    assert "hourglass" in set(df["chain"]) and df["chain"].str.startswith("random").any()
    for r in df.to_dict("records"):
        dims = [int(d) for d in r["dims"].split()]
        assert r["cost p1"] == plan(dims).cost
        assert r["makespan p2"] == makespan_dp(as_factors(dims), 2)[0]
        assert r["predicted"] == pytest.approx(r["cost p1"] / r["makespan p2"])
        assert r["measured_low"] <= r["measured"] <= r["measured_high"]
    rounds = pd.read_csv(tmp_path / "parallel_rounds.csv")
    assert set(rounds["variant"]) == set(parallel.VARIANTS) and (rounds["seconds"] > 0).all()
    plan_graph = "chainopt plan, 2x2 Jacobians (per operation)"
    assert [(r["graph"], r["scheduler"]) for r in result["overhead"]] == [
        ("independent", "sync"), ("independent", "threads"), ("dependent", "sync"), ("dependent", "threads"),
        (plan_graph, "sync"), (plan_graph, "threads")]
    assert all(r["min us"] <= r["us per task"] <= r["max us"] for r in result["overhead"])
    text = (tmp_path / "parallel.md").read_text()
    assert "## Dask's overhead per task" in text and "| chain | dims |" in text and "BLAS" in text


@pytest.mark.parametrize("draw", DRAW)
def test_without_dask_main_writes_the_predictions_only(tmp_path, monkeypatch, draw):
    monkeypatch.setattr(parallel, "_have_dask", lambda: False)
    with saving_figures(draw, parallel) as figs:
        result = parallel.main(tmp_path, quick=True)
    assert figs.names(tmp_path) == ["parallel.csv", "parallel.md", "parallel.png", "parallel_rounds.csv"]
    figs.check(tmp_path / "parallel.png")
    df = pd.read_csv(tmp_path / "parallel.csv")
    assert df["measured"].isna().all() and (df["predicted"] >= 1).all()
    assert "Dask is not installed" in result["reading"] and result["overhead"] == []
    assert 'pip install "chainopt[dask]"' in (tmp_path / "parallel.md").read_text()

"""Smoke test of the long-chain benchmark: quick mode writes its files; greedy is costed right."""

import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.strategies import brute, plan
from chainopt.errors import ResultMismatchError
from chainopt.experiments import long_chains


@pytest.mark.parametrize("dims", [[10, 100, 5, 50], [30, 35, 15, 5, 10, 20, 25], [7, 1, 900, 3, 2, 40, 1, 8]])
def test_greedy_cost_is_half_opt_einsums_flop_count(dims):
    oe = pytest.importorskip("opt_einsum")
    n = len(dims) - 1
    sym = [oe.get_symbol(i) for i in range(n + 1)]
    eq = ",".join(sym[k + 1] + sym[k] for k in range(n)) + "->" + sym[n] + sym[0]
    _, info = oe.contract_path(eq, *[(dims[k + 1], dims[k]) for k in range(n)], shapes=True, optimize="greedy")
    cost = long_chains.greedy_cost(dims)
    assert 2 * cost == info.opt_cost  # opt_einsum counts a multiply-add as two operations
    assert cost >= brute(dims).cost


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main_writes_csv_png_markdown(tmp_path, draw, monkeypatch):
    if not draw:  # by default up to 30 factors, figures built; -m slow: the whole quick run (to 100), figures drawn
        monkeypatch.setattr(long_chains, "QUICK_SIZES", (10, 30))
    with saving_figures(draw, long_chains) as figs:
        result = long_chains.main(tmp_path, quick=True)
    assert figs.names(tmp_path) == ["long_chains.csv", "long_chains.md", "long_chains.png"]
    df = pd.read_csv(tmp_path / "long_chains.csv")
    assert sorted(df["factors"].unique()) == list(long_chains.QUICK_SIZES)
    exact = df[df["method"].isin(long_chains.EXACT)]
    assert (exact.groupby("factors")["cost"].nunique() == 1).all()
    assert (exact["ratio"] == 1.0).all()
    greedy = df[df["method"] == "greedy"]
    if len(greedy):
        assert (greedy["ratio"] >= 1.0).all()
    text = (tmp_path / "long_chains.md").read_text()
    assert "BLAS" in text and "| factors |" in text and "not measured" in text
    figs.check(tmp_path / "long_chains.png")
    assert result["targets"] == {} and "Hu-Shing" in result["reading"]


def test_a_disagreement_between_exact_methods_is_an_error(monkeypatch):
    monkeypatch.setitem(long_chains._RUNNERS, "dp", lambda dims: plan(dims).cost + 1)
    with pytest.raises(ResultMismatchError, match="disagree"):
        long_chains.run((10,), budget=0.0)

"""Smoke test of the predicted-vs-measured experiment; its fit and inversion logic on made-up data."""

import numpy as np
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.experiments import predicted_vs_measured as pvm


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main(tmp_path, draw):
    with saving_figures(draw, pvm) as figs:
        result = pvm.main(tmp_path, quick=True)
    names = ["predicted_vs_measured.csv", "predicted_vs_measured.md", "predicted_vs_measured.png"]
    assert figs.names(tmp_path) == names
    figs.check(tmp_path / "predicted_vs_measured.png")
    df = pd.read_csv(tmp_path / "predicted_vs_measured.csv")
    # every bracketing of each 5-factor chain (14), plus up to 3 plans of the long one
    assert (df[df["kind"] == "every bracketing"].groupby("chain").size() == 14).all()
    assert (df["median_s"] > 0).all() and (df["min_s"] <= df["median_s"]).all()
    # Spearman's rho is Pearson's r of the ranks: recomputed from the CSV by pandas, independently of scipy
    ranks = df[["multiply_adds", "median_s"]].rank()
    assert result["fit"]["spearman"] == pytest.approx(ranks["multiply_adds"].corr(ranks["median_s"]), abs=1e-9)
    assert result["fit"]["gflops_fit"] > 0
    assert "Spearman" not in result["reading"] and "rank correlation" in result["reading"]


def test_fit_recovers_a_known_rate_and_overhead():
    madds = [1e6, 1e7, 1e8, 1e9]
    df = pd.DataFrame({"multiply_adds": madds, "median_s": [1e-5 + 2 * m / 50e9 for m in madds]})
    fit = pvm.fit_rate(df)
    assert fit["gflops_fit"] == pytest.approx(50, rel=1e-6)
    assert fit["overhead_s"] == pytest.approx(1e-5, rel=1e-6)
    assert fit["spearman"] == pytest.approx(1.0)


def test_inversions_respect_the_noise_margin():
    df = pd.DataFrame(
        {
            "chain": ["c"] * 3,
            "plan": ["cheap-but-slow", "dear-but-fast", "noise"],
            "multiply_adds": [100, 200, 150],
            "median_s": [3.0, 1.0, 1.05],
        }
    )
    inv = pvm.inversions(df, margin=1.10)
    assert list(inv["plan"]) == ["cheap-but-slow"]
    assert inv.iloc[0]["faster_plan"] == "dear-but-fast" and inv.iloc[0]["slowdown"] == pytest.approx(3.0)


def test_an_inversion_needs_an_interval_above_1():
    def row(plan, madds, seconds):
        seconds = seconds * 2  # six rounds: the fewest an interval is computed from
        return {"chain": "c", "plan": plan, "multiply_adds": madds, "median_s": float(np.median(seconds)),
                "seconds": " ".join(map(repr, seconds))}

    df = pd.DataFrame([
        row("cheap-but-slow", 100, [3.0, 3.1, 2.9]),
        row("cheap-and-unclear", 120, [3.0, 0.9, 3.0]),  # median 3x, but a third of the rounds were fastest
        row("dear-but-fast", 200, [1.0, 1.0, 1.0]),
    ])
    inv = pvm.inversions(df, margin=1.10)
    assert list(inv["plan"]) == ["cheap-but-slow"]
    assert inv.iloc[0]["slowdown_low"] > 1 and inv.iloc[0]["slowdown_high"] == pytest.approx(3.1)

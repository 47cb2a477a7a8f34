"""Smoke test of the optimal-vs-pure experiment: quick mode writes its files; the savings are right."""

from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.chain import bwd_cost, fwd_cost
from chainopt.core.strategies import brute
from chainopt.experiments import optimal_vs_pure
from chainopt.plots import plot_optimal_vs_pure


@pytest.fixture(scope="module", params=DRAW)
def quick(request, tmp_path_factory):
    """The quick run, its figure built by default and drawn with -m slow: every test of the module sees both."""
    out = tmp_path_factory.mktemp("optimal_vs_pure")
    plt.close("all")
    with saving_figures(request.param, optimal_vs_pure) as figs:
        result = optimal_vs_pure.main(out, quick=True)
    return out, result, figs


def test_quick_main_writes_csv_png_markdown_and_closes_its_figure(quick):
    out, result, figs = quick
    assert figs.names(out) == ["optimal_vs_pure.csv", "optimal_vs_pure.md", "optimal_vs_pure.png"]
    assert sorted(p.name for p in result["paths"]) == figs.names(out)
    figs.check(out / "optimal_vs_pure.png")
    assert plt.get_fignums() == []


def test_csv_has_every_family_and_length_with_exact_costs(quick):
    out, _, _ = quick
    df = pd.read_csv(out / "optimal_vs_pure.csv")
    expected = (
        len(optimal_vs_pure.FAMILIES) * len(optimal_vs_pure.QUICK_FACTORS) * optimal_vs_pure.QUICK_CHAINS_PER_LENGTH
    )
    assert len(df) == expected
    assert list(dict.fromkeys(df["family"])) == list(optimal_vs_pure.FAMILIES)
    assert set(df["factors"]) == set(optimal_vs_pure.QUICK_FACTORS)
    for r in df.itertuples():
        dims = [int(d) for d in r.dims.split()]
        assert len(dims) == r.factors + 1
        assert (r.fwd_cost, r.bwd_cost) == (fwd_cost(dims), bwd_cost(dims))
        if r.factors <= 8:  # an independent oracle where it is affordable
            assert r.optimal_cost == brute(dims).cost


def test_saving_is_at_least_one_and_exactly_one_where_a_pure_mode_is_optimal(quick):
    out, result, _ = quick
    df = pd.read_csv(out / "optimal_vs_pure.csv")
    better = np.minimum(df["fwd_cost"], df["bwd_cost"])
    assert (better >= df["optimal_cost"]).all()
    assert (df["saving"] >= 1.0).all()
    assert ((df["saving"] == 1.0) == (better == df["optimal_cost"])).all()
    for r in df.itertuples():
        assert r.saving == float(Fraction(min(r.fwd_cost, r.bwd_cost), r.optimal_cost))
    assert result["max_saving"] == df["saving"].max() > 1.0
    assert result["max_saving_family"] == df.loc[df["saving"].idxmax(), "family"]


def test_markdown_reads_the_numbers_from_the_data(quick):
    out, result, _ = quick
    text = (out / "optimal_vs_pure.md").read_text()
    assert "date:" in text and "![" in text and "optimal_vs_pure.png" in text
    assert "| family | chains |" in text and "| rank | family |" in text
    # the largest saving, recomputed from the CSV's exact costs (not from the result the page was written from)
    df = pd.read_csv(out / "optimal_vs_pure.csv")
    largest = max(Fraction(min(r.fwd_cost, r.bwd_cost), r.optimal_cost) for r in df.itertuples())
    worst = f"{float(largest):.3g}x" if largest < 100 else f"{float(largest):,.0f}x"
    assert f"**{worst}**" in text
    # every family's median saving appears in its row of the family table
    for family, group in df.groupby("family"):
        savings = [float(Fraction(min(r.fwd_cost, r.bwd_cost), r.optimal_cost)) for r in group.itertuples()]
        median = float(np.median(savings))
        row = next(line for line in text.splitlines() if line.startswith(f"| {family} |"))
        assert f"{median:.3g}" in row, (family, median, row)
    assert text.count("\n| ") >= 2 + len(optimal_vs_pure.FAMILIES) + 10


def test_families_have_their_shapes():
    rng = np.random.default_rng(5)
    for _ in range(20):
        funnel = optimal_vs_pure.family_dims("funnel", 8, rng)
        assert funnel[0] >= 256 and funnel[-1] <= 16
        expanding = optimal_vs_pure.family_dims("expanding", 8, rng)
        assert expanding[0] <= 16 and expanding[-1] >= 256
        hourglass = optimal_vs_pure.family_dims("hourglass", 8, rng)
        assert min(hourglass[0], hourglass[-1]) >= 256 and min(hourglass[1:-1]) <= 16
        for family in optimal_vs_pure.FAMILIES:
            dims = optimal_vs_pure.family_dims(family, 5, rng)
            assert len(dims) == 6 and all(1 <= d <= 1024 for d in dims)
    with pytest.raises(KeyError, match="choose one of: uniform"):
        optimal_vs_pure.family_dims("diamond", 3, rng)


def test_the_run_is_seeded():
    a = optimal_vs_pure.run((3, 5), 2, seed=1)
    b = optimal_vs_pure.run((3, 5), 2, seed=1)
    c = optimal_vs_pure.run((3, 5), 2, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["dims"].equals(c["dims"])


def test_the_plot_draws_on_a_given_axes(quick):
    _, result, _ = quick
    fig, ax = plt.subplots()
    try:
        assert plot_optimal_vs_pure(result["data"], ax=ax) is ax
        assert ax.get_yscale() == "log" and "saving" in ax.get_ylabel()
        assert len(ax.get_xticklabels()) == len(optimal_vs_pure.FAMILIES)
    finally:
        plt.close("all")

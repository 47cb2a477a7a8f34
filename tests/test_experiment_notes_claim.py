"""Smoke test of the notes' claim experiment: quick mode writes its files; the claim's facts are right."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from figures import DRAW, saving_figures

from chainopt.core.strategies import brute
from chainopt.errors import ResultMismatchError
from chainopt.experiments import notes_claim


@pytest.fixture(scope="module", params=DRAW)
def quick(request, tmp_path_factory):
    """The quick run, its figure built by default and drawn with -m slow: every test of the module sees both."""
    out = tmp_path_factory.mktemp("notes_claim")
    plt.close("all")
    with saving_figures(request.param, notes_claim) as figs:
        result = notes_claim.main(out, quick=True)
    return out, result, figs


def test_quick_main_writes_csv_png_markdown_and_closes_its_figure(quick):
    out, result, figs = quick
    assert figs.names(out) == ["notes_claim.csv", "notes_claim.md", "notes_claim.png"]
    figs.check(out / "notes_claim.png")
    assert plt.get_fignums() == []


def test_claim_holds_on_every_chain_whose_other_dims_are_at_least_two(quick):
    out, result, _ = quick
    df = pd.read_csv(out / "notes_claim.csv")
    random = df[df["source"] == "random"]
    per_group = len(notes_claim.QUICK_FACTORS) * notes_claim.QUICK_CHAINS
    for mode in notes_claim.CLAIMS:
        for case in notes_claim.CASES:
            assert len(random[(random["mode"] == mode) & (random["case"] == case)]) == per_group * len(
                notes_claim.QUICK_DIM_MAXES
            )
    for r in random.itertuples():
        dims = [int(d) for d in r.dims.split()]
        end, others = (dims[0], dims[1:]) if r.mode == "fwd" else (dims[-1], dims[:-1])
        assert end == 1
        assert r.case == ("another = 1" if 1 in others else "others >= 2")
        assert r.optimal_cost == brute(dims).cost
        assert r.holds == (r.pure_cost == r.optimal_cost)
    safe = random[random["case"] == "others >= 2"]
    assert safe["holds"].all()
    assert result["holds"][("fwd", "others >= 2")] == result["holds"][("bwd", "others >= 2")] == 1.0
    # with another dim equal to 1 the claim fails on some chains of the quick run too
    assert result["counterexamples"]["fwd"] > 0 and result["counterexamples"]["bwd"] > 0
    assert (random.loc[~random["holds"], "case"] == "another = 1").all()


def test_the_seed_notes_counterexample_and_its_mirror_are_computed(quick):
    out, result, _ = quick
    df = pd.read_csv(out / "notes_claim.csv")
    seed = df[df["source"] == "seed notes"].set_index("mode")
    assert seed.loc["fwd", "dims"] == "1 1 100 2" and seed.loc["bwd", "dims"] == "2 100 1 1"
    for mode, plan in (("fwd", "(A3 A2) A1"), ("bwd", "A3 (A2 A1)")):
        assert (seed.loc[mode, "pure_cost"], seed.loc[mode, "optimal_cost"]) == (300, 202)
        assert seed.loc[mode, "optimal_plan"] == plan and not seed.loc[mode, "holds"]
    assert result["seed_example"]["optimal_cost"] == 202
    text = (out / "notes_claim.md").read_text()
    assert "(1, 1, 100, 2)" in text and "`(A3 A2) A1` costs 202" in text and "FWD costs 300" in text
    assert "notes_claim.png" in text and "| claim | case |" in text and "smallest found" in text


def test_a_failure_with_every_other_dim_at_least_two_is_reported_as_a_bug():
    row = notes_claim.claim_row((1, 3, 4, 5), "fwd")
    assert row["holds"] and row["case"] == "others >= 2"
    notes_claim.check_claim(row)
    with pytest.raises(ResultMismatchError, match="every other dim is >= 2"):
        notes_claim.check_claim({**row, "pure_cost": row["optimal_cost"] + 1, "holds": False})
    with pytest.raises(ValueError, match="n_N = 1"):
        notes_claim.claim_row((1, 3, 4, 5), "bwd")


def test_the_plot_draws_on_a_given_axes(quick):
    from chainopt.plots import plot_notes_claim

    _, result, _ = quick
    fig, ax = plt.subplots()
    try:
        assert plot_notes_claim(result["data"], ax=ax) is ax
        heights = sorted(round(p.get_height()) for p in ax.patches)
        assert len(heights) == 4 * len(notes_claim.QUICK_DIM_MAXES) and heights[-1] == 100
        assert "%" in ax.get_ylabel()
    finally:
        plt.close("all")

"""Smoke and oracle tests of the crossover experiment and the ``chainopt crossover`` command."""

from fractions import Fraction

import pandas as pd
import pytest
from fewer_examples import fewer_examples, slow_twin
from figures import DRAW, saving_figures
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.cli import main as cli_main
from chainopt.experiments import crossover

CROSSINGS = (st.lists(st.integers(1, 300), min_size=1, max_size=4), st.integers(1, 500), st.data())


# 20 examples: the uniform-interior case below, the doctest's widening and narrowing cases and the smoke
# test's predicted grid check the same sign change on fixed numbers; the _thorough twin (-m slow) runs 100
@fewer_examples(20)
@given(*CROSSINGS)
def test_predicted_crossover_separates_fwd_and_bwd_exactly(interior, n_out, data):
    cross = crossover.predicted_crossover(interior, n_out)
    n_in = data.draw(st.integers(1, 2000))
    fwd, bwd = co.fwd_cost([n_in, *interior, n_out]), co.bwd_cost([n_in, *interior, n_out])
    if cross is None:
        assert fwd < bwd or (len(interior) == 1 and fwd == bwd)
    elif n_in < cross:
        assert fwd < bwd
    elif n_in > cross:
        assert fwd > bwd
    else:
        assert fwd == bwd


test_predicted_crossover_separates_fwd_and_bwd_exactly_thorough = slow_twin(
    test_predicted_crossover_separates_fwd_and_bwd_exactly, *CROSSINGS, max_examples=100)


def test_uniform_interior_crosses_at_n_in_equal_n_out():
    for n_out in (1, 7, 256, 4096):
        assert crossover.predicted_crossover((256, 256, 256), n_out) == Fraction(n_out)


@pytest.mark.parametrize("draw", DRAW)
def test_quick_main_writes_everything_and_locates_crossovers(tmp_path, monkeypatch, draw):
    # a small measured grid, two measured interiors (widening, the widest, is not timed) and short
    # measurements: a smoke test, not a measurement; the predicted grid keeps every interior
    monkeypatch.setattr(crossover, "MEASURED_INTERIORS", ("uniform", "bottleneck"))
    with saving_figures(draw, crossover) as figs:
        result = crossover.main(tmp_path, quick=True, measured_grid=(1, 16), min_time=0.002)
    assert figs.names(tmp_path) == sorted([
        "crossover.csv", "crossover_measured.csv", "crossover.md",
        "crossover_sweep.png", "crossover_heatmap.png", "crossover_saving.png",
    ])
    predicted = pd.read_csv(tmp_path / "crossover.csv")
    uniform = predicted[predicted["interior"] == "uniform"]
    # the uniform-interior crossover is exactly the diagonal n_1 = n_N
    assert ((uniform["fwd"] < uniform["bwd"]) == (uniform["n_in"] < uniform["n_out"])).all()
    assert ((uniform["fwd"] == uniform["bwd"]) == (uniform["n_in"] == uniform["n_out"])).all()
    # exact ints and the optimum never worse than either pure mode
    assert (predicted["optimal"] <= predicted[["fwd", "bwd"]].min(axis=1)).all()
    row = predicted.iloc[5]
    dims = [row["n_in"], *crossover.INTERIORS[row["interior"]], row["n_out"]]
    assert row["fwd"] == co.fwd_cost(dims) and row["optimal"] == co.plan(dims, "optimal").cost
    assert result["crossovers"]["uniform"]["predicted"] == result["n_out"]
    assert result["best_saving"]["interior"] == "bottleneck" and result["best_saving"]["saving"] > 5
    measured = pd.read_csv(tmp_path / "crossover_measured.csv")
    assert set(measured["strategy"]) == {"fwd", "bwd", "optimal"}
    assert set(measured["interior"]) == {"uniform", "bottleneck"}
    assert (measured["median_s"] > 0).all() and (measured["repeats"] == 6).all()
    assert sorted(set(measured["n_in"])) == [1, 16]
    assert (measured["median_low_s"] <= measured["median_s"]).all()
    assert (measured["median_s"] <= measured["median_high_s"]).all()
    assert (measured["fwd_over_bwd_low"] <= measured["fwd_over_bwd_high"]).all()
    assert result["crossovers"]["narrowing"]["measured_interval"].status == "not measured"
    assert "not measured (only uniform, bottleneck are timed)" in (tmp_path / "crossover.md").read_text()
    text = (tmp_path / "crossover.md").read_text()
    assert "![FWD vs BWD along n_1](crossover_sweep.png)" in text and "BLAS" in text
    for png in ("crossover_sweep.png", "crossover_heatmap.png", "crossover_saving.png"):
        figs.check(tmp_path / png)


def test_measured_crossover_interpolates_the_sign_change():
    rows = []
    for n_in, fwd, bwd in [(1, 1.0, 4.0), (4, 2.0, 4.0), (16, 8.0, 4.0)]:
        rows += [{"interior": "u", "n_in": n_in, "strategy": "fwd", "median_s": fwd},
                 {"interior": "u", "n_in": n_in, "strategy": "bwd", "median_s": bwd}]
    seen = crossover.measured_crossover(pd.DataFrame(rows), "u")
    assert seen == pytest.approx(8.0)  # log-linear: log(2/4) -> log(8/4) over log2 4 -> 16


@pytest.mark.slow
def test_cli_crossover_no_measure(tmp_path, capsys):
    assert cli_main(["crossover", "--quick", "--no-measure", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "uniform" in out and "FWD always wins" not in out.splitlines()[2]
    assert not (tmp_path / "crossover_measured.csv").exists()
    assert (tmp_path / "crossover_heatmap.png").exists()


def test_cli_crossover_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli_main(["crossover", "--quick", "--out", str(target)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def _ratios(points):
    """Rows of :func:`crossover.measure`'s shape for one interior: (n_in, ratio, low, high) per point."""
    return pd.DataFrame([{"interior": "u", "n_in": n, "strategy": "fwd", "fwd_over_bwd": r,
                          "fwd_over_bwd_low": lo, "fwd_over_bwd_high": hi} for n, r, lo, hi in points])


def test_measured_crossover_interval_brackets_the_estimate():
    seen = crossover.measured_crossover_interval(
        _ratios([(1, 0.25, 0.2, 0.3), (4, 0.5, 0.4, 0.6), (16, 2.0, 1.6, 2.4), (64, 4.0, 3.0, 5.0)]), "u")
    assert seen.status == "crossover"
    # log-linear oracle: the median ratio crosses 1 halfway between log2 4 and log2 16 (log .5 -> log 2): n = 8
    assert seen.estimate == pytest.approx(8.0)
    # the bracket: FWD measurably faster at 4 (interval under 1), BWD at 16 (over 1); nothing narrower is claimed
    assert (seen.low, seen.high) == (4.0, 16.0)
    assert seen.describe() == "8 [4, 16]"
    # a tie at 16 moves the upper end to the next point with a measured difference
    tied = crossover.measured_crossover_interval(
        _ratios([(1, 0.25, 0.2, 0.3), (4, 0.5, 0.4, 0.6), (16, 1.2, 0.9, 1.5), (64, 4.0, 3.0, 5.0)]), "u")
    assert tied.low == 4.0 and tied.high == 64.0 and tied.low < tied.estimate < 16


def test_within_noise_no_crossover_and_not_measured_are_told_apart():
    ties = _ratios([(1, 0.9, 0.7, 1.1), (4, 1.05, 0.9, 1.2), (16, 1.1, 0.95, 1.3)])
    assert crossover.measured_crossover_interval(ties, "u").describe() == "within noise over the whole range"
    fwd_only = _ratios([(1, 0.5, 0.4, 0.6), (4, 0.9, 0.8, 1.1), (16, 1.1, 0.9, 1.3)])
    seen = crossover.measured_crossover_interval(fwd_only, "u")
    assert seen.status == "no crossover" and seen.faster == "FWD" and seen.estimate is None
    assert crossover.measured_crossover_interval(fwd_only, "other").describe() == (
        "not measured (only u is timed)")
    assert crossover.measured_crossover_interval(None, "u").describe() == "not measured (timing off: --no-measure)"


@pytest.mark.slow
def test_cli_crossover_progress_bar_moves(tmp_path, capsys, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(crossover, "QUICK_GRID", (1, 4))
    monkeypatch.setattr(crossover, "MEASURED_INTERIORS", ("uniform", "bottleneck"))
    monkeypatch.setattr(crossover, "save_figure", lambda fig, path: plt.close(fig) or path)  # figures: not the subject
    assert cli_main(["crossover", "--quick", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    counts = [line.split("]")[1].split()[0] for line in err.splitlines() if line.startswith("[")]
    steps = crossover.progress_steps(quick=True)
    assert steps == 1 + 2 * len(crossover.MEASURED_INTERIORS)
    assert counts == [f"{k}/{steps}" for k in range(steps + 1)]  # every step moves the bar, to the end

"""Where does forward mode stop beating reverse mode? The FWD-vs-BWD crossover.

Chains ``n_1 -> interior -> n_N`` with a fixed interior, sweeping ``n_1`` and
``n_N`` over powers of two. With interior widths ``i_1, ..., i_L`` and
``P = sum_k i_k i_{k+1}`` the closed forms of the notes give

    FWD = n_1 (P + i_L n_N),        BWD = n_N (n_1 i_1 + P),

so FWD is cheaper exactly when ``n_1 (P + n_N (i_L - i_1)) < n_N P``: below

    n_1* = n_N P / (P + n_N (i_L - i_1))

(and for every ``n_1`` when the bracket is not positive). A uniform
interior (``i_1 = i_L``) puts the crossover at ``n_1 = n_N``; a widening
interior moves it below, a narrowing one above (or removes it). The optimum
can beat both modes by bracketing inside the chain (a bottleneck interior).

Measured: for a few interiors at fixed ``n_N``, FWD, BWD and the optimum are
executed on random Jacobians and timed (``chainopt.bench.harness.benchmark``), so the
predicted and measured crossovers stand side by side.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

from chainopt.bench.environment import machine_info
from chainopt.core.chain import bwd_cost, fwd_cost
from chainopt.core.strategies import plan as make_plan
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.experiments.crossings import MeasuredCrossover, measured_crossover, measured_crossover_interval
from chainopt.report.render import markdown_table, plain

__all__ = ["INTERIORS", "GRID", "QUICK_GRID", "predicted_crossover", "predict", "measure", "main",
           "MeasuredCrossover", "measured_crossover", "measured_crossover_interval", "progress_steps"]

#: Interior widths ``(n_2, ..., n_{N-1})`` of each swept chain shape.
INTERIORS = {
    "uniform": (256, 256, 256),
    "bottleneck": (256, 16, 256),
    "widening": (64, 256, 1024),
    "narrowing": (1024, 256, 64),
}
GRID = tuple(2**k for k in range(13))  # 1 .. 4096
QUICK_GRID = (1, 4, 16, 64, 256, 1024)
#: Interiors timed on real Jacobians, and the fixed output width of those sweeps.
MEASURED_INTERIORS = ("uniform", "widening", "bottleneck")
MEASURED_N_OUT = 256
QUICK_MEASURED_N_OUT = 64


def predicted_crossover(interior, n_out: int) -> Fraction | None:
    """The exact ``n_1`` where FWD and BWD cost the same, or ``None`` if FWD is never dearer.

    FWD is strictly cheaper for ``n_1`` below the returned value and
    strictly dearer above it. ``None`` means FWD costs less than BWD at
    every ``n_1`` (or, for a single interior width, exactly the same).

    Examples
    --------
    >>> predicted_crossover((256, 256, 256), 100)
    Fraction(100, 1)
    >>> predicted_crossover((64, 256, 1024), 256)
    Fraction(136, 1)
    >>> predicted_crossover((1024, 256, 64), 4096) is None
    True
    """
    interior = list(interior)
    pairs = sum(a * b for a, b in zip(interior[:-1], interior[1:]))
    bracket = pairs + n_out * (interior[-1] - interior[0])
    if bracket <= 0:
        return None
    return Fraction(n_out * pairs, bracket)


def predict(grid=GRID, interiors=INTERIORS):
    """Exact FWD, BWD and optimal costs over the ``(n_1, n_N)`` grid for every interior."""
    import pandas as pd

    rows = []
    for name, interior in interiors.items():
        for n_in in grid:
            for n_out in grid:
                dims = (n_in, *interior, n_out)
                fwd, bwd = fwd_cost(dims), bwd_cost(dims)
                best = make_plan(dims, "optimal")
                rows.append(
                    {
                        "interior": name,
                        "n_in": n_in,
                        "n_out": n_out,
                        "fwd": fwd,
                        "bwd": bwd,
                        "optimal": best.cost,
                        "optimal_plan": str(best),
                        "log2_fwd_over_bwd": math.log2(fwd / bwd),
                        "saving": float(Fraction(min(fwd, bwd), best.cost)),
                    }
                )
    return pd.DataFrame(rows)


def measure(grid, interiors, n_out: int, *, repeats: int = 7, seed: int = 0, min_time: float = 0.02,
            progress=None):
    """Time FWD, BWD and optimal on random float64 Jacobians along ``n_1`` at fixed ``n_N``.

    Returns one row per (interior, n_1, strategy) with the median, min and
    max seconds over ``repeats``, the 95% interval of the median (order statistics)
    (``median_low_s``, ``median_high_s``), the predicted multiply-adds, and
    for the point the ratio ``fwd_over_bwd`` of the medians with its paired
    bootstrap interval (``fwd_over_bwd_low``, ``fwd_over_bwd_high``; rounds
    of FWD and BWD ran back to back and are resampled together).
    """
    import pandas as pd

    from chainopt.bench.harness import TimingSpreadWarning, benchmark
    from chainopt.bench.intervals import ratio_interval

    rows = []
    for name in interiors:
        for n_in in grid:
            dims = (n_in, *INTERIORS[name], n_out)
            if progress:
                progress(f"crossover: timing {name} n_1={n_in}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TimingSpreadWarning)
                result = benchmark(
                    dims, strategies=("fwd", "bwd", "optimal"), repeats=repeats, seed=seed, peak_size=None,
                    min_time=min_time,
                )
            noisy = [str(w.message) for w in caught if issubclass(w.category, TimingSpreadWarning)]
            times = result.times.groupby("strategy", sort=False)["seconds"].apply(list).to_dict()
            low, high = ratio_interval(times["fwd"], times["bwd"])
            medians = result.summary.set_index("strategy")["median_s"]
            for row in result.summary.to_dict("records"):
                rows.append(
                    {
                        "interior": name,
                        "n_in": n_in,
                        "n_out": n_out,
                        "strategy": row["strategy"],
                        "multiply_adds": int(row["madds"]),
                        "median_s": row["median_s"],
                        "min_s": row["min_s"],
                        "max_s": row["max_s"],
                        "median_low_s": row["median_low_s"],
                        "median_high_s": row["median_high_s"],
                        "fwd_over_bwd": medians["fwd"] / medians["bwd"],
                        "fwd_over_bwd_low": low,
                        "fwd_over_bwd_high": high,
                        "repeats": repeats,
                        "spread_warning": any(m.startswith(f"{row['strategy']}:") for m in noisy),
                    }
                )
    return pd.DataFrame(rows)


def progress_steps(quick: bool = False, measure_time: bool = True, measured_grid=None) -> int:
    """How many progress messages :func:`main` sends: one for the prediction, one per measured point.

    Examples
    --------
    >>> progress_steps(quick=True), progress_steps(quick=True, measure_time=False)
    (19, 1)
    """
    grid = measured_grid if measured_grid is not None else (QUICK_GRID if quick else GRID)
    return 1 + (len(grid) * len(MEASURED_INTERIORS) if measure_time else 0)


def _fmt_crossover(value) -> str:
    if value is None:
        return "none (FWD always cheaper)"
    return f"{float(value):,.1f}"


def main(out_dir="reports", quick: bool = False, *, measure_time: bool = True, seed: int = 0, progress=None,
         measured_grid=None, min_time: float = 0.02):
    """Run the crossover experiment; write CSVs, three figures and ``crossover.md``.

    ``measured_grid`` (default: the grid) is the ``n_1`` values timed;
    ``min_time`` the least seconds of one measurement (a smoke test passes a
    small grid and a small time). Returns a dict: ``crossovers`` (per
    interior: predicted and measured ``n_1*`` at the measured ``n_N``, and
    ``measured_interval``, a :class:`MeasuredCrossover`), ``best_saving``
    (the largest saving of the optimum over the better pure mode, with
    where), ``paths`` and the data.
    """
    import matplotlib.pyplot as plt

    from chainopt.plots import plot_crossover_heatmap, plot_crossover_sweep, plot_saving_heatmap

    out = prepare(out_dir)
    info = machine_info()
    grid = QUICK_GRID if quick else GRID
    n_out = QUICK_MEASURED_N_OUT if quick else MEASURED_N_OUT
    if progress:
        progress("crossover: predicting costs over the grid")
    predicted = predict(grid)
    paths = [write_csv(predicted, out / "crossover.csv")]
    measured = None
    if measure_time:
        measured = measure(grid if measured_grid is None else tuple(measured_grid), MEASURED_INTERIORS, n_out,
                           repeats=6 if quick else 7, seed=seed, min_time=min_time, progress=progress)
        paths.append(write_csv(measured, out / "crossover_measured.csv"))

    sweep_names = MEASURED_INTERIORS
    fig, axes = plt.subplots(1, len(sweep_names), figsize=(5.2 * len(sweep_names), 4.4), layout="constrained")
    for ax, name in zip(axes, sweep_names):
        seen = measured_crossover_interval(measured, name)
        plot_crossover_sweep(
            predicted, name, n_out, widths=INTERIORS[name], crossover=predicted_crossover(INTERIORS[name], n_out),
            measured=measured, measured_crossover=seen.estimate,
            measured_interval=None if seen.status != "crossover" else (seen.low, seen.high), ax=ax,
        )
    markers = ": predicted lines, measured markers" if measured is not None else ""
    fig.suptitle(f"FWD vs BWD along n_1 at n_N = {n_out}" + markers)
    paths.append(save_figure(fig, out / "crossover_sweep.png"))

    names = list(INTERIORS)
    fig, axes = plt.subplots(1, len(names), figsize=(4.3 * len(names), 4.2), layout="constrained")
    for ax, name in zip(axes, names):
        plot_crossover_heatmap(predicted, name, ax=ax)
    fig.suptitle("log2(FWD cost / BWD cost): blue where FWD is cheaper; black line = crossover")
    paths.append(save_figure(fig, out / "crossover_heatmap.png"))

    fig, axes = plt.subplots(1, len(names), figsize=(4.3 * len(names), 4.2), layout="constrained")
    for ax, name in zip(axes, names):
        plot_saving_heatmap(predicted, name, ax=ax)
    fig.suptitle("Saving of the optimal bracketing over the better pure mode (x)")
    paths.append(save_figure(fig, out / "crossover_saving.png"))

    crossovers = {}
    for name, interior in INTERIORS.items():
        crossovers[name] = {
            "interior": interior,
            "predicted": predicted_crossover(interior, n_out),
            "measured": (
                measured_crossover(measured, name)
                if measured is not None and name in MEASURED_INTERIORS
                else None
            ),
            "measured_interval": measured_crossover_interval(measured, name),
        }
    top = predicted.loc[predicted["saving"].idxmax()]
    best_saving = plain(top.to_dict())
    per_interior = predicted.groupby("interior", sort=False)["saving"].max()

    uniform = crossovers["uniform"]
    moved = ", ".join(
        f"{name} {_fmt_crossover(c['predicted'])}"
        for name, c in crossovers.items()
        if name in ("widening", "narrowing")
    )
    measured_note = ""
    if measured is not None:
        seen = [f"{name} {c['measured_interval'].describe()}" for name, c in crossovers.items()
                if c["measured_interval"].status != "not measured"]
        measured_note = (" Measured on random Jacobians (n_1* between the grid points that bracket it, each a "
                         "measured difference): " + "; ".join(seen) + ".")
    reading = (
        f"At n_N = {n_out}, FWD beats BWD below n_1* = {_fmt_crossover(uniform['predicted'])} for a uniform interior "
        f"(exactly n_1 = n_N, as the closed forms say) and the crossover moves with the interior's end widths: "
        f"{moved}; "
        f"a symmetric bottleneck leaves it at n_1 = n_N but lets the optimum beat both modes by up to "
        f"{per_interior['bottleneck']:,.1f}x.{measured_note}"
    )
    rows = []
    for name, c in crossovers.items():
        rows.append(
            {
                "interior": name,
                "widths n_2..n_{N-1}": " -> ".join(map(str, c["interior"])),
                f"predicted n_1* at n_N={n_out}": _fmt_crossover(c["predicted"]),
                "measured n_1* [bracket]": c["measured_interval"].describe(),
                "largest saving of optimum": f"{per_interior[name]:,.2f}x",
            }
        )
    rate_line = ""
    if measured is not None:
        rate = (measured["multiply_adds"] / measured["median_s"]).median() * 2 / 1e9
        rate_line = (f"Measured points ran at a median {rate:,.1f} GFLOP/s (2 flops per multiply-add). "
                     "A measured n_1* is where the FWD/BWD ratio of medians crosses 1 (log-linear between grid "
                     "points); its interval runs between the nearest grid points each side where one mode was "
                     "measurably faster (the ratio's 95% paired bootstrap interval, over the repeats, excludes 1), "
                     "as between grid points the curves are only interpolated; 'within noise' means the interval "
                     "contains 1 at every measured n_1. ")
    body = [
        reading,
        "",
        "Chains n_1 -> interior -> n_N. FWD is cheaper exactly when n_1 < n_1* = n_N P / (P + n_N (i_L - i_1)), "
        "with P the sum of products of neighbouring interior widths and i_1, i_L its first and last width. "
        f"Grid: n_1, n_N in {grid[0]}..{grid[-1]} (powers of two). " + rate_line,
        "",
        markdown_table(rows),
        "",
        f"The largest saving of the optimum over both pure modes on this grid is **{best_saving['saving']:,.2f}x**, "
        f"for the {best_saving['interior']} interior at n_1 = {best_saving['n_in']}, n_N = {best_saving['n_out']} "
        f"(optimal plan `{best_saving['optimal_plan']}`).",
        "",
        "![FWD vs BWD along n_1](crossover_sweep.png)",
        "",
        "![log2(FWD/BWD) heatmaps](crossover_heatmap.png)",
        "",
        "![saving of the optimum](crossover_saving.png)",
    ]
    paths.append(
        write_markdown(
            out / "crossover.md",
            "FWD vs BWD crossover",
            body,
            command="chainopt crossover" + (" --quick" if quick else "") + ("" if measure_time else " --no-measure"),
            info=info,
        )
    )
    return {
        "crossovers": crossovers,
        "best_saving": best_saving,
        "reading": reading,
        "n_out": n_out,
        "paths": paths,
        "predicted": predicted,
        "measured": measured,
    }

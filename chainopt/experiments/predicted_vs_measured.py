"""Do multiply-adds predict time? Every bracketing of small chains, executed and timed.

For a few 5-factor chains every one of the 14 bracketings is executed on the
same random float64 Jacobians and timed (repeats interleaved across the
plans); for longer random chains the fwd, bwd and optimal plans are. The
reading: the machine's fitted rate (GFLOP/s), the rank correlation between
multiply-adds and median time, and the *inversions*: plans that ran slower
than some plan of the same chain with more multiply-adds (beyond a noise
margin and with a 95% paired bootstrap interval of the slowdown above 1),
annotated with their bracketing. Every median comes with its 95% bootstrap
interval (:mod:`chainopt.bench.intervals`); every repeat is kept in the CSV.
"""

from __future__ import annotations

import statistics

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.bench.harness import time_interleaved
from chainopt.bench.intervals import NO_DIFFERENCE, format_interval, median_interval, ratio_interval
from chainopt.core.strategies import all_plans
from chainopt.core.strategies import plan as make_plan
from chainopt.execution import execute, random_jacobians
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.report.render import markdown_table

__all__ = ["SMALL_CHAINS", "main", "inversions", "fit_rate"]

#: Chains whose every bracketing is timed (5 factors: 14 bracketings; 6 factors: 42).
SMALL_CHAINS = {
    "hourglass": (256, 1024, 32, 1024, 256, 128),
    "mlp": (784, 512, 256, 128, 64, 10),
    "bottleneck": (512, 1024, 16, 1024, 512, 64),
    "tall": (16, 64, 256, 512, 1024, 2048),
    "mixed-6": (300, 40, 900, 60, 700, 20, 500),  # 6 factors: 42 bracketings
}
QUICK_SMALL_CHAINS = {"hourglass": (32, 128, 8, 128, 32, 16), "mlp": (98, 64, 32, 16, 8, 2)}
#: Longer random chains: (name, factors, largest width); only fwd, bwd and optimal.
LONG_CHAINS = (("random-10", 10, 768), ("random-16", 16, 512), ("random-24", 24, 384))
QUICK_LONG_CHAINS = (("random-8", 8, 64),)
#: A plan counts as an inversion only when slower by more than this factor.
NOISE_MARGIN = 1.10


def _time_plans(name, dims, plans, *, repeats, seed, progress):
    mats = random_jacobians(dims, seed=seed)
    funcs = {str(p): (lambda p=p: execute(p, mats, check_finite=False)) for p in plans}
    if progress:
        progress(f"predicted_vs_measured: {name} ({len(funcs)} plans)")
    times = time_interleaved(funcs, repeats=repeats, warmup=1)
    rows = []
    for p in plans:
        ts = times[str(p)]
        low, high = median_interval(ts)
        rows.append(
            {
                "chain": name,
                "dims": ",".join(map(str, dims)),
                "plan": str(p),
                "multiply_adds": p.cost,
                "median_s": statistics.median(ts),
                "median_low_s": low,
                "median_high_s": high,
                "min_s": min(ts),
                "max_s": max(ts),
                "repeats": len(ts),
                "seconds": " ".join(repr(t) for t in ts),  # every repeat, in the interleaved order
            }
        )
    return rows


def run(*, quick: bool = False, repeats: int | None = None, seed: int = 0, progress=None):
    """Time the plans; return the tidy DataFrame (one row per chain and plan)."""
    import pandas as pd

    repeats = repeats or (6 if quick else 7)
    rows = []
    for name, dims in (QUICK_SMALL_CHAINS if quick else SMALL_CHAINS).items():
        plans = list(all_plans(dims))
        for row in _time_plans(name, dims, plans, repeats=repeats, seed=seed, progress=progress):
            rows.append({**row, "kind": "every bracketing"})
    rng = np.random.default_rng(seed)
    for name, factors, width in QUICK_LONG_CHAINS if quick else LONG_CHAINS:
        dims = tuple(rng.integers(1, width + 1, factors + 1).tolist())
        named = {s: make_plan(dims, s) for s in ("fwd", "bwd", "optimal")}
        unique = list(dict.fromkeys(named.values()))  # fwd may equal the optimum
        for row in _time_plans(name, dims, unique, repeats=repeats, seed=seed, progress=progress):
            label = "/".join(s for s, p in named.items() if str(p) == row["plan"])
            rows.append({**row, "kind": label})
    return pd.DataFrame(rows)


def fit_rate(df) -> dict:
    """Fit ``time = overhead + 2 * multiply_adds / rate`` to the median times.

    The fit minimises *relative* errors (each point weighted by 1/time, so
    the small products count as much as the large ones) with both terms
    non-negative (scipy's ``nnls``). Returns ``gflops_fit`` and
    ``overhead_s`` (the fitted line), ``gflops_median`` (median over points
    of 2 * madds / time) and ``spearman`` (rank correlation of multiply-adds
    and median time over all points).
    """
    from scipy.optimize import nnls
    from scipy.stats import spearmanr

    x = df["multiply_adds"].astype(float).to_numpy()
    y = df["median_s"].to_numpy()
    (overhead, seconds_per_madd), _ = nnls(np.column_stack([1 / y, x / y]), np.ones_like(y))
    return {
        "gflops_median": float(np.median(2 * x / y) / 1e9),
        "gflops_fit": float(2 / seconds_per_madd / 1e9) if seconds_per_madd > 0 else float("nan"),
        "overhead_s": float(overhead),
        "spearman": float(spearmanr(x, y).statistic),
    }


def _seconds(row) -> list[float]:
    text = row.get("seconds")
    return [float(t) for t in text.split()] if isinstance(text, str) else []


def _slowdown_interval(slow, fast) -> tuple[float, float]:
    """The paired 95% interval of ``median(slow) / median(fast)`` (NaN without repeats)."""
    return ratio_interval(_seconds(slow), _seconds(fast))


def inversions(df, margin: float = NOISE_MARGIN):
    """Plans slower than some plan of the same chain that has more multiply-adds.

    A plan is listed when another plan of its chain has strictly more
    multiply-adds and yet a median time shorter by more than ``margin``,
    and, when the repeats are known (a ``seconds`` column), the 95% paired
    bootstrap interval of the slowdown lies above 1 (otherwise it is no
    measurable difference, not an inversion). Each row names the plan, its
    multiply-adds and time, the faster plan and the slowdown with its
    interval (``slowdown_low``, ``slowdown_high``; NaN without repeats).
    """
    import pandas as pd

    rows = []
    for chain, part in df.groupby("chain", sort=False):
        records = part.to_dict("records")
        for r in records:
            faster = [
                o for o in records
                if o["multiply_adds"] > r["multiply_adds"] and o["median_s"] * margin < r["median_s"]
                and not _slowdown_interval(r, o)[0] <= 1  # NaN (no repeats) passes; an interval holding 1 not
            ]
            if faster:
                best = min(faster, key=lambda o: o["median_s"])
                low, high = _slowdown_interval(r, best)
                rows.append(
                    {
                        "chain": chain,
                        "plan": r["plan"],
                        "multiply_adds": r["multiply_adds"],
                        "median_s": r["median_s"],
                        "faster_plan": best["plan"],
                        "faster_multiply_adds": best["multiply_adds"],
                        "faster_median_s": best["median_s"],
                        "slowdown": r["median_s"] / best["median_s"],
                        "slowdown_low": low,
                        "slowdown_high": high,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "chain", "plan", "multiply_adds", "median_s",
            "faster_plan", "faster_multiply_adds", "faster_median_s", "slowdown", "slowdown_low", "slowdown_high",
        ],
    )


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None):
    """Run the experiment; write ``predicted_vs_measured.{csv,png,md}``; return the key numbers."""
    from chainopt.plots import plot_predicted_vs_measured

    out = prepare(out_dir)
    info = machine_info()
    df = run(quick=quick, seed=seed, progress=progress)
    fit = fit_rate(df)
    inv = inversions(df)
    paths = [write_csv(df, out / "predicted_vs_measured.csv")]
    ax = plot_predicted_vs_measured(df, inversions=inv, fit=fit)
    paths.append(save_figure(ax.figure, out / "predicted_vs_measured.png"))
    per_chain = []
    for chain, part in df.groupby("chain", sort=False):
        fastest = part.loc[part["median_s"].idxmin()]
        fewest = part.loc[part["multiply_adds"].idxmin()]
        low, high = _slowdown_interval(fewest.to_dict(), fastest.to_dict())
        per_chain.append(
            {
                "chain": chain,
                "dims": part["dims"].iloc[0],
                "plans timed": len(part),
                "fewest multiply-adds": fewest["plan"],
                "fastest": fastest["plan"],
                "fewest is fastest": "yes" if fastest["plan"] == fewest["plan"] else
                f"{NO_DIFFERENCE} ({fewest['median_s'] / fastest['median_s']:.2f}x {format_interval(low, high, '.2f')})"
                if low <= 1 else
                f"no ({fewest['median_s'] / fastest['median_s']:.2f}x slower {format_interval(low, high, '.2f')})",
            }
        )
    inv_rows = [
        {
            "chain": r["chain"],
            "slower plan": f"`{r['plan']}`",
            "its multiply-adds": f"{r['multiply_adds']:,}",
            "faster plan with more multiply-adds": f"`{r['faster_plan']}`",
            "its multiply-adds ": f"{r['faster_multiply_adds']:,}",
            "slowdown [95% CI]":
                f"{r['slowdown']:.2f}x {format_interval(r['slowdown_low'], r['slowdown_high'], '.2f')}",
        }
        for r in inv.sort_values("slowdown", ascending=False).to_dict("records")
    ]
    n_fastest_fewest = sum(row["fewest is fastest"] == "yes" for row in per_chain)
    reading = (
        f"Over {len(df)} timed plans of {df['chain'].nunique()} chains, the rank correlation between multiply-adds "
        f"and median time is {fit['spearman']:.3f}; a straight-line fit gives {fit['gflops_fit']:,.1f} GFLOP/s "
        f"with {fit['overhead_s'] * 1e6:,.0f} us fixed overhead "
        f"(median point rate {fit['gflops_median']:,.1f} GFLOP/s). "
        f"The plan with the fewest multiply-adds was also the fastest in {n_fastest_fewest} of {len(per_chain)} "
        "chains; "
        f"{len(inv)} plan{'s' * (len(inv) != 1)} ran more than {NOISE_MARGIN - 1:.0%} slower than a plan of the "
        "same chain with more multiply-adds (and measurably so: the 95% interval of the slowdown above 1). "
        "Intervals: 95% bootstrap confidence intervals of the median over the repeats; ratios from the "
        "repeats paired round by round; an interval holding 1 is no measurable difference."
    )
    body = [
        reading,
        "",
        "![time vs multiply-adds](predicted_vs_measured.png)",
        "",
        "## Per chain",
        "",
        markdown_table(per_chain),
        "",
        "## Inversions: fewer multiply-adds, yet slower",
        "",
        markdown_table(inv_rows) if inv_rows else "None beyond the noise margin.",
    ]
    paths.append(
        write_markdown(
            out / "predicted_vs_measured.md",
            "Predicted (multiply-adds) vs measured time",
            body,
            command="python experiments/predicted_vs_measured.py" + (" --quick" if quick else ""),
            info=info,
        )
    )
    return {"fit": fit, "inversions": inv, "per_chain": per_chain, "reading": reading, "paths": paths, "data": df}

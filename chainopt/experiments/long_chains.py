"""Exact optimal orders for very long chains: Hu-Shing's O(n log n) path against the DPs and a greedy.

Four ways to order a matrix chain, timed on the same seeded random chains of
``n`` factors (dims drawn from 1..1000), from 10 to a million factors:

* ``hu_shing``: ``chainopt.plan(dims, "hu_shing")``, plan and ``.cost``
  included; this is what ``chainopt.plan(dims)`` runs above
  :data:`~chainopt.core.strategies.DP_MAX_FACTORS` factors;
* ``dp``: chainopt's vectorised O(n^3) DP (:func:`chainopt.core.strategies.dp.optimal`);
* ``numpy``: numpy's ``multi_dot`` ordering helper (the same DP in Python loops);
* ``greedy``: opt_einsum's ``greedy`` path (``opt_einsum.paths.greedy`` on the
  matrices' index sets and sizes), turned into a bracketing and costed
  exactly; its cost over the optimum is reported beside its time.

Each method runs only up to its own cap (:data:`MAX_FACTORS`) and is dropped
once one of its calls takes longer than ``limit_seconds``. The exact methods
must find the same optimal cost wherever they ran: a disagreement raises
:class:`~chainopt.errors.ResultMismatchError`.
"""

from __future__ import annotations

import statistics
import time
from fractions import Fraction

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.bench.intervals import format_spread
from chainopt.core.strategies import DP_MAX_FACTORS, dp, plan
from chainopt.errors import ChainoptError, ResultMismatchError
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.experiments.dp_scaling import numpy_cost
from chainopt.report.render import markdown_table

__all__ = ["main", "run", "greedy_cost", "SIZES", "QUICK_SIZES", "MAX_FACTORS", "METHODS", "TARGETS"]

SIZES = (10, 30, 100, 300, 600, 1000, 2000, 3000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
QUICK_SIZES = (10, 30, 100)
METHODS = ("hu_shing", "dp", "numpy", "greedy")
#: The longest chain each method is given (numpy's helper takes minutes at 1000 factors).
MAX_FACTORS = {"hu_shing": 1_000_000, "dp": 2000, "numpy": 600, "greedy": 100_000}
#: Issue 11's targets: seconds for ``plan(dims)`` and its cost at these lengths.
TARGETS = {100_000: 1.0, 1_000_000: 15.0}
EXACT = ("hu_shing", "dp", "numpy")
LABELS = {
    "hu_shing": "chainopt.plan, Hu-Shing O(n log n)",
    "dp": "chainopt DP, O(n^3)",
    "numpy": "numpy multi_dot's helper",
    "greedy": "opt_einsum greedy (label: cost / optimum)",
}


def greedy_cost(dims) -> int:
    """The exact cost of the bracketing opt_einsum's ``greedy`` path picks for the chain ``dims``.

    Factor ``k`` is the matrix of shape ``(dims[k+1], dims[k])`` with indices
    ``(k+1, k)``; the output keeps the first and last index. Each pairwise
    contraction of the path must join two adjacent ranges of factors
    ``lo..mid`` and ``mid+1..hi`` and costs ``dims[lo] * dims[mid+1] * dims[hi+1]``.

    Raises
    ------
    ChainoptError
        If opt_einsum is missing (``pip install "chainopt[bench]"``), or the
        path joins two ranges that are not adjacent (then it is no bracketing).

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("opt_einsum")
    >>> greedy_cost([10, 100, 5, 50])  # greedy takes A2 A1 first here, the optimum (7,500)
    7500
    """
    try:
        from opt_einsum import get_symbol, paths
    except ImportError:
        raise ChainoptError('the greedy baseline needs opt_einsum: pip install "chainopt[bench]"') from None
    path = _greedy_path(dims, get_symbol, paths)
    ranges = [(k, k) for k in range(len(dims) - 1)]
    total = 0
    for step in path:
        if len(step) != 2:
            raise ChainoptError(f"opt_einsum's greedy path has a step {step} that is not a pairwise product")
        (lo1, hi1), (lo2, hi2) = (ranges[i] for i in step)
        for i in sorted(step, reverse=True):
            del ranges[i]
        (lo, mid), (_, hi) = sorted([(lo1, hi1), (lo2, hi2)])
        if min(hi1, hi2) + 1 != max(lo1, lo2):
            raise ChainoptError(f"opt_einsum's greedy path multiplies non-adjacent ranges {step}")
        total += dims[lo] * dims[mid + 1] * dims[hi + 1]
        ranges.append((lo, hi))
    return total


def _greedy_path(dims, get_symbol, paths):
    n = len(dims) - 1
    symbols = [get_symbol(i) for i in range(n + 1)]
    inputs = [frozenset((symbols[k], symbols[k + 1])) for k in range(n)]
    output = frozenset((symbols[0], symbols[n]))
    return paths.greedy(inputs, output, dict(zip(symbols, dims)))


def _time_greedy(dims):
    """Seconds of the path search alone (not of costing it)."""
    from opt_einsum import get_symbol, paths

    start = time.perf_counter()
    _greedy_path(dims, get_symbol, paths)
    return time.perf_counter() - start


_RUNNERS = {
    "hu_shing": lambda dims: plan(dims, "hu_shing").cost,
    "dp": lambda dims: dp.optimal(dims).cost,
    "numpy": numpy_cost,
}


def _time_call(method, dims, *, budget: float, max_repeats: int):
    """``(median, min, max)`` seconds of one method on ``dims`` (fast calls repeated), repeats, the cost found."""
    times, cost = [], None
    while not times or (len(times) < max_repeats and sum(times) < budget):
        if method == "greedy":
            times.append(_time_greedy(dims))
        else:
            start = time.perf_counter()
            cost = _RUNNERS[method](dims)
            times.append(time.perf_counter() - start)
    if method == "greedy":
        cost = greedy_cost(dims)
    return (statistics.median(times), min(times), max(times)), len(times), cost


def _have_opt_einsum() -> bool:
    import importlib.util

    return importlib.util.find_spec("opt_einsum") is not None


def run(sizes=SIZES, *, seed: int = 0, limit_seconds: float = 30.0, budget: float = 1.0,
        max_repeats: int = 5, progress=None):
    """Time every method on every size (same chain for all); the tidy DataFrame of results.

    Columns: ``factors``, ``method``, ``seconds`` (median), ``repeats``,
    ``cost`` (exact int) and ``ratio`` (cost over the optimum).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    active = [m for m in METHODS if m != "greedy" or _have_opt_einsum()]
    rows = []
    for n in sizes:
        dims = [int(d) for d in rng.integers(1, 1001, n + 1)]
        costs = {}
        for method in [m for m in active if n <= MAX_FACTORS[m]]:
            if progress:
                progress(f"long_chains: n={n:,} {method}")
            seconds, repeats, cost = _time_call(method, dims, budget=budget, max_repeats=max_repeats)
            costs[method] = cost
            (seconds, fastest, slowest) = seconds
            rows.append({"factors": n, "method": method, "seconds": seconds, "seconds_min": fastest,
                         "seconds_max": slowest, "repeats": repeats, "cost": cost})
            if seconds > limit_seconds:
                active.remove(method)
        exact = {m: c for m, c in costs.items() if m in EXACT}
        if len(set(exact.values())) > 1:
            raise ResultMismatchError(f"the exact methods disagree on a chain of {n:,} factors: {exact}")
        optimum = exact.get("hu_shing", min(exact.values(), default=None))
        for row in rows:
            if row["factors"] == n:
                row["ratio"] = float(Fraction(row["cost"], optimum)) if optimum else float("nan")
    return pd.DataFrame(rows, columns=["factors", "method", "seconds", "seconds_min", "seconds_max", "repeats", "cost",
                                       "ratio"])


def summary_table(df):
    """One row per length: seconds per method, and greedy's cost over the optimum."""
    wide = df.pivot(index="factors", columns="method", values="seconds").reindex(columns=list(METHODS))
    spread = df.set_index(["factors", "method"])[["seconds", "seconds_min", "seconds_max", "repeats"]]
    ratio = df[df["method"] == "greedy"].set_index("factors")["ratio"]
    rows = []
    for n, r in wide.iterrows():
        row = {"factors": f"{int(n):,}"}
        for m in METHODS:
            row[f"{m} s [min, max]"] = "-" if np.isnan(r[m]) else format_spread(*spread.loc[n, m], ".3g")
        row["greedy cost / optimum"] = f"{ratio[n]:.4g}x" if n in ratio.index else "-"
        rows.append(row)
    return rows


def _verdicts(seconds):
    lines, met = [], {}
    for n, target in TARGETS.items():
        if n in seconds.index and not np.isnan(seconds.loc[n, "hu_shing"]):
            s = float(seconds.loc[n, "hu_shing"])
            met[n] = s < target
            lines.append(f"- `plan(dims)` with its cost at {n:,} factors: **{s:.3g} s** "
                         f"(target under {target:g} s: {'met' if met[n] else 'MISSED'})")
        else:
            lines.append(f"- {n:,} factors: not measured in this run")
    return lines, met


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, limit_seconds: float = 30.0, progress=None):
    """Run the benchmark and write ``long_chains.{csv,md,png}`` into ``out_dir``.

    Returns a dict with ``paths``, ``reading``, ``data`` (the DataFrame) and
    ``targets`` (``{length: met}`` for the lengths of :data:`TARGETS` measured).
    """
    from chainopt.plots import plot_scaling

    out = prepare(out_dir)
    info = machine_info()
    df = run(QUICK_SIZES if quick else SIZES, seed=seed, limit_seconds=limit_seconds,
             budget=0.2 if quick else 1.0, progress=progress)
    csv_path = write_csv(df, out / "long_chains.csv")
    greedy = df[df["method"] == "greedy"]
    ax = plot_scaling(df, annotate="ratio" if len(greedy) else None, labels=LABELS, targets=TARGETS,
                      title="Optimal matrix-chain order: time vs chain length",
                      ylabel="seconds to find the order (median)")
    png_path = save_figure(ax.figure, out / "long_chains.png")

    seconds = df.pivot(index="factors", columns="method", values="seconds").reindex(columns=list(METHODS))
    targets, met = _verdicts(seconds)
    both = sorted(set(df.loc[df["method"] == "dp", "factors"]) & set(df.loc[df["method"] == "hu_shing", "factors"]))
    longest = int(seconds["hu_shing"].dropna().index.max())
    worst = greedy.loc[greedy["ratio"].idxmax()] if len(greedy) else None
    greedy_text = ("opt_einsum was not installed, so greedy was not run" if worst is None else
                   f"opt_einsum's greedy orders cost up to {worst['ratio']:.3g}x the optimum "
                   f"(at {int(worst['factors']):,} factors, where it took {worst['seconds']:.3g} s)")
    verdicts = "".join(f" ({n:,} factors: {seconds.loc[n, 'hu_shing']:.3g} s, target {TARGETS[n]:g} s "
                       f"{'met' if ok else 'missed'})" for n, ok in met.items())
    reading = (
        f"Hu-Shing's exact order (plan and cost) for {longest:,} factors took "
        f"{seconds.loc[longest, 'hu_shing']:.3g} s{verdicts}; the DP and Hu-Shing found the same optimal cost at all "
        f"{len(both)} lengths where both ran (up to {max(both):,} factors), and numpy's helper agreed too; "
        f"{greedy_text}."
    )
    body = [
        f"Median seconds to find the optimal order of a random chain (dims 1..1000, seed {seed}), the same "
        "chain for every method at each length. `hu_shing` is `chainopt.plan(dims, \"hu_shing\")` with its "
        f"`.cost` (what `chainopt.plan(dims)` runs above {DP_MAX_FACTORS} factors), `dp` chainopt's vectorised "
        "O(n^3) DP, `numpy` numpy's `multi_dot` helper, `greedy` opt_einsum's `greedy` path search on the "
        "matrices' shapes (its order costed exactly afterwards, not timed). Caps: "
        + ", ".join(f"{m} up to {c:,}" for m, c in MAX_FACTORS.items())
        + f" factors; a method also stops once one call exceeds {limit_seconds:g} s. Each cell: the median "
        "[fastest, slowest] over the repeats (fast calls are repeated up to 5 times within 1 s; '(1 run)' where "
        "one call took the whole budget).",
        "",
        *targets,
        f"- exact agreement: the DP, numpy's helper and Hu-Shing found the same cost at every length where "
        f"they ran ({len(both)} lengths with both the DP and Hu-Shing; checked in the run)",
        f"- {greedy_text}",
        "",
        "![time vs chain length](long_chains.png)",
        "",
        markdown_table(summary_table(df)),
    ]
    md_path = write_markdown(out / "long_chains.md", "Exact orders for long chains: time vs chain length", body,
                             command="python experiments/long_chains.py" + (" --quick" if quick else ""), info=info)
    return {"paths": [csv_path, png_path, md_path], "reading": reading, "data": df, "targets": met}

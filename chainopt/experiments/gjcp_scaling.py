"""How fast is the generalized Jacobian chain DP? Time against the number of factors, up to 2000.

:func:`chainopt.core.strategies.generalized.generalized_dp` (tangents,
adjoints, preaccumulation and products, exact, O(q^3)) on seeded random
chains of ``q`` factors, two families:

* ``dense``: matrix-free factors with sizes drawn from 1..1000 and
  ``tangent = adjoint = tape`` drawn from 1..``n_in * n_out`` (as in
  Naumann's generated instances);
* ``diagonal``: the same dense factors alternating with diagonal
  (elementwise) ones, ``tangent = adjoint = tape = n``, as in an MLP
  (the DP keeps two more tables for diagonal ranges).

Issue 9's target: ``q = 500`` in under 0.5 s (STCE's C++ reference DP takes
4.9 s on this machine, Naumann's 2020 code 5.1 s, as measured for issue 9).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.core.factors import Factor
from chainopt.core.strategies.generalized import generalized_dp
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.report.render import markdown_table

__all__ = ["main", "run", "random_factors", "SIZES", "QUICK_SIZES", "FAMILIES", "TARGET"]

SIZES = (10, 20, 50, 100, 200, 500, 1000, 2000)
QUICK_SIZES = (10, 20, 50)
FAMILIES = ("dense", "diagonal")
#: (factors, seconds): issue 9's target.
TARGET = (500, 0.5)
#: Reference solvers' seconds at q = 500 on this machine (issue 9).
REFERENCE = {"STCE C++ DP": 4.9, "Naumann 2020": 5.1}


def random_factors(q: int, rng, *, diagonal: bool = False) -> list[Factor]:
    """``q`` seeded random factors; with ``diagonal`` every second factor is elementwise.

    Examples
    --------
    >>> fs = random_factors(4, np.random.default_rng(0), diagonal=True)
    >>> [f.diagonal for f in fs], all(f.n_out == g.n_in for f, g in zip(fs, fs[1:]))
    ([False, True, False, True], True)
    """
    factors, width = [], int(rng.integers(1, 1001))
    for k in range(q):
        if diagonal and k % 2:
            factors.append(Factor(n_in=width, n_out=width, tangent=width, adjoint=width, tape=width,
                                  diagonal=True))
            continue
        out = int(rng.integers(1, 1001))
        cost = int(rng.integers(1, width * out + 1))
        factors.append(Factor(n_in=width, n_out=out, tangent=cost, adjoint=cost, tape=cost))
        width = out
    return factors


def _time(factors, *, budget: float, max_repeats: int):
    times = []
    while not times or (len(times) < max_repeats and sum(times) < budget):
        start = time.perf_counter()
        cost, _ = generalized_dp(factors)
        times.append(time.perf_counter() - start)
    return times, cost


def run(sizes=SIZES, *, seed: int = 0, budget: float = 1.0, max_repeats: int = 5, progress=None):
    """Time the DP on each family and size; the tidy DataFrame.

    Columns: ``factors``, ``family``, ``seconds`` (median), ``min_s``,
    ``max_s``, ``repeats``, ``cost`` (the optimum, exact int).
    """
    import pandas as pd

    rows = []
    for family in FAMILIES:
        rng = np.random.default_rng([seed, FAMILIES.index(family)])
        for q in sizes:
            if progress:
                progress(f"gjcp_scaling: q={q} {family}")
            factors = random_factors(q, rng, diagonal=family == "diagonal")
            times, cost = _time(factors, budget=budget, max_repeats=max_repeats)
            rows.append({"factors": q, "family": family, "seconds": statistics.median(times), "min_s": min(times),
                         "max_s": max(times), "repeats": len(times), "cost": cost})
    return pd.DataFrame(rows)


def _growth(df, family):
    """The log-log slope of seconds over the two largest sizes."""
    part = df[df["family"] == family].sort_values("factors").tail(2)
    if len(part) < 2:
        return float("nan")
    (q0, s0), (q1, s1) = part[["factors", "seconds"]].to_numpy()
    return float(np.log(s1 / s0) / np.log(q1 / q0))


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None):
    """Run the benchmark and write ``gjcp_scaling.{csv,md,png}`` into ``out_dir``.

    Returns a dict with ``paths``, ``reading``, ``data`` and ``target_met``
    (``None`` when ``q = 500`` was not measured).
    """
    from chainopt.plots import plot_scaling

    out = prepare(out_dir)
    info = machine_info()
    df = run(QUICK_SIZES if quick else SIZES, seed=seed, budget=0.2 if quick else 1.0, progress=progress)
    csv_path = write_csv(df, out / "gjcp_scaling.csv")
    q_target, s_target = TARGET
    ax = plot_scaling(df.rename(columns={"family": "method"}), title="Generalized Jacobian chain DP: time vs q",
                      ylabel="seconds per DP (median)", targets={q_target: s_target},
                      labels={"dense": "matrix-free factors", "diagonal": "alternating with diagonal factors"})
    png_path = save_figure(ax.figure, out / "gjcp_scaling.png")

    seconds = df.pivot(index="factors", columns="family", values="seconds")
    largest = int(seconds.index.max())
    met = None
    if q_target in seconds.index:
        worst = float(seconds.loc[q_target].max())
        met = worst < s_target
        target_line = (f"- q = {q_target}: **{worst:.3g} s** (slower family; target under {s_target:g} s: "
                       f"{'met' if met else 'MISSED'}; "
                       + ", ".join(f"{k} {v:g} s" for k, v in REFERENCE.items()) + " on this machine, issue 9)")
    else:
        target_line = f"- q = {q_target}: not measured in this run"
    slopes = {f: _growth(df, f) for f in FAMILIES}
    reading = (
        f"The generalized DP takes {seconds.loc[largest, 'dense']:.3g} s (dense) and "
        f"{seconds.loc[largest, 'diagonal']:.3g} s (with diagonal factors) at q = {largest}"
        + (f", {float(seconds.loc[q_target].max()):.3g} s at q = {q_target} (target {s_target:g} s: "
           f"{'met' if met else 'missed'})" if met is not None else "")
        + f"; time grows as q^{slopes['dense']:.2f} over the two largest sizes."
    )
    table = [{"q": int(r["factors"]), "family": r["family"], "median s": f"{r['seconds']:.3g}",
              "min s": f"{r['min_s']:.3g}", "max s": f"{r['max_s']:.3g}", "repeats": int(r["repeats"]),
              "optimal cost": f"{int(r['cost']):,}"} for r in df.to_dict("records")]
    body = [
        "Seconds for `generalized_dp(factors)` (cost and tree) on seeded random chains: factor sizes 1..1000, "
        "tangent = adjoint = tape drawn from 1..n_in*n_out; the `diagonal` family alternates those dense "
        f"factors with elementwise (diagonal) ones. Seed {seed}; median of up to 5 repeats (1 s budget).",
        "",
        target_line,
        f"- growth over the two largest sizes: q^{slopes['dense']:.2f} (dense), q^{slopes['diagonal']:.2f} "
        "(diagonal)",
        "",
        "![generalized DP time vs q](gjcp_scaling.png)",
        "",
        markdown_table(table),
    ]
    md_path = write_markdown(out / "gjcp_scaling.md", "Generalized Jacobian chain DP: time vs number of factors",
                             body, command="python experiments/gjcp_scaling.py" + (" --quick" if quick else ""),
                             info=info)
    return {"paths": [csv_path, png_path, md_path], "reading": reading, "data": df, "target_met": met}

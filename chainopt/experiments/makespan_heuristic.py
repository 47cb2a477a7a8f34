"""How far is the makespan DP from the optimum? The Märtens-Naumann heuristic against branch and bound.

On ``m`` machines the makespan DP
(:func:`chainopt.core.strategies.makespan.makespan_dp`) is exact for one
machine and for unlimited machines, and a heuristic in between: it only
splits the machines between the two operands of a product for their whole
lifetime. This experiment measures the gap on seeded random short chains:
for every chain of ``q`` factors and every machine count ``1 < m < q``,
the DP's makespan over the exact optimum of
:func:`chainopt.core.strategies.makespan_bnb.makespan_bnb`. Two families:

* ``matrix-free``: factors with sizes 1..1000 and ``tangent = adjoint = tape``
  drawn from 1..``n_in * n_out`` (:func:`chainopt.experiments.gjcp_scaling.random_factors`);
* ``formed``: given dense Jacobians with dims drawn from 1..1000 (the matrix-chain problem).

A branch and bound that runs out of time (``time_limit``) is counted and
left out of the ratios.
"""

from __future__ import annotations

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.core.factors import as_factors
from chainopt.core.strategies.makespan import makespan_dp
from chainopt.core.strategies.makespan_bnb import makespan_bnb
from chainopt.errors import ResultMismatchError
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.experiments.gjcp_scaling import random_factors
from chainopt.report.render import markdown_table

__all__ = ["main", "run", "summary_table", "LENGTHS", "MACHINES", "FAMILIES"]

LENGTHS = (3, 4, 5, 6, 7, 8)
MACHINES = (2, 3, 4)
FAMILIES = ("matrix-free", "formed")


def _chain(family: str, q: int, rng):
    if family == "formed":
        return as_factors([int(d) for d in rng.integers(1, 1001, q + 1)])
    return random_factors(q, rng)


def run(lengths=LENGTHS, machines=MACHINES, *, chains: int = 200, seed: int = 0, time_limit: float = 10.0,
        progress=None):
    """Every chain against every machine count ``1 < m < q``: the tidy DataFrame.

    Columns: ``family``, ``q``, ``machines``, ``chain`` (index), ``dp``
    (the DP's makespan), ``optimum`` (branch and bound's best), ``finished``
    (the search completed), ``ratio`` (``dp / optimum``, a float for display),
    ``sequential`` (the one-machine optimum) and ``critical_path`` (unlimited machines).
    """
    import pandas as pd

    rows = []
    for family in FAMILIES:
        for q in lengths:
            if progress:
                progress(f"makespan_heuristic: {family} q={q}")
            rng = np.random.default_rng([seed, FAMILIES.index(family), q])
            for index in range(chains):
                factors = _chain(family, q, rng)
                sequential = makespan_dp(factors, 1)[0]
                critical = makespan_dp(factors, None)[0]
                for m in (m for m in machines if 1 < m < q):
                    dp = makespan_dp(factors, m)[0]
                    best, _, finished = makespan_bnb(factors, m, time_limit=time_limit)
                    if best > dp or best < critical:
                        raise ResultMismatchError(
                            f"{family} chain {index} of {q} factors on {m} machines: branch and bound's "
                            f"makespan {best} is outside [critical path {critical}, DP {dp}]")
                    rows.append({"family": family, "q": q, "machines": m, "chain": index, "dp": dp,
                                 "optimum": best, "finished": finished, "ratio": dp / best,
                                 "sequential": sequential, "critical_path": critical})
    return pd.DataFrame(rows)


def summary_table(df):
    """One row per family, q and m: chains, finished searches, how often the DP is optimal, its ratios.

    The last column is the speed-up the optimum predicts over one machine.
    """
    rows = []
    for (family, q, m), part in df.groupby(["family", "q", "machines"], sort=True):
        done = part[part["finished"]]
        rows.append({
            "family": family, "q": int(q), "machines": int(m), "chains": len(part),
            "finished": len(done),
            "DP optimal": f"{(done['dp'] == done['optimum']).mean():.0%}" if len(done) else "-",
            "median DP / optimum": f"{done['ratio'].median():.4f}" if len(done) else "-",
            "worst DP / optimum": f"{done['ratio'].max():.4f}" if len(done) else "-",
            "median 1 machine / optimum": f"{(done['sequential'] / done['optimum']).median():.3f}"
            if len(done) else "-",
        })
    return rows


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None):
    """Run the comparison and write ``makespan_heuristic.{csv,md,png}`` into ``out_dir``.

    Returns a dict with ``paths``, ``reading``, ``data`` and ``worst`` (the
    largest finished ratio, a float).
    """
    import matplotlib.pyplot as plt

    from chainopt.plots import plot_ratio_distribution

    out = prepare(out_dir)
    info = machine_info()
    lengths, chains = ((3, 4, 5), 4) if quick else (LENGTHS, 200)
    df = run(lengths, chains=chains, seed=seed, time_limit=2.0 if quick else 10.0, progress=progress)
    csv_path = write_csv(df, out / "makespan_heuristic.csv")

    done = df[df["finished"]]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(11, 4.2), sharey=True, layout="constrained")
    for ax, family in zip(axes, FAMILIES):
        part = done[done["family"] == family]
        plot_ratio_distribution(part["ratio"], by=part["q"], ax=ax, xlabel="factors q (all m with 1 < m < q)",
                                title=f"{family}: DP makespan / optimum")
    png_path = save_figure(fig, out / "makespan_heuristic.png")

    worst = done.loc[done["ratio"].idxmax()]
    optimal_share = float((done["dp"] == done["optimum"]).mean())
    unfinished = int((~df["finished"]).sum())
    reading = (
        f"On {len(df):,} (chain, machine count) pairs with 1 < m < q <= {max(lengths)}, the makespan DP was "
        f"optimal in {optimal_share:.1%}; its worst makespan was {worst['ratio']:.4f}x the optimum "
        f"({worst['family']}, q = {int(worst['q'])}, m = {int(worst['machines'])}); "
        f"{unfinished} branch-and-bound searches ran out of time."
    )
    body = [
        "The makespan DP (Märtens and Naumann's heuristic, exact for 1 and for unlimited machines) against the "
        f"exact branch and bound on seeded random chains (seed {seed}, {chains} chains per family and length, "
        "each on every machine count 1 < m < q; costs in multiply-adds, exact ints in the CSV). Families: "
        "`matrix-free` factors (sizes 1..1000, tangent = adjoint = tape in 1..n_in*n_out) and `formed` "
        "(given dense Jacobians, dims 1..1000).",
        "",
        f"- DP optimal: **{optimal_share:.1%}** of the {len(done):,} finished pairs",
        f"- worst DP / optimum: **{worst['ratio']:.4f}** ({worst['family']}, q = {int(worst['q'])}, "
        f"m = {int(worst['machines'])}: {int(worst['dp']):,} vs {int(worst['optimum']):,})",
        f"- unfinished searches (left out): {unfinished}",
        "",
        "![DP makespan over the optimum](makespan_heuristic.png)",
        "",
        markdown_table(summary_table(df)),
    ]
    md_path = write_markdown(out / "makespan_heuristic.md", "The makespan DP against the exact optimum", body,
                             command="python experiments/makespan_heuristic.py" + (" --quick" if quick else ""),
                             info=info)
    return {"paths": [csv_path, png_path, md_path], "reading": reading, "data": df,
            "worst": float(worst["ratio"])}

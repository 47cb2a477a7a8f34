"""The notes' claim "if n_1 = 1, FWD is optimal", and its mirror, on random chains.

The lecture notes say that when the input is a scalar (``n_1 = 1``) forward
mode is optimal. For a chain that holds when every other dim is at least 2,
and can fail when another dim is 1: for dims ``(1, 1, 100, 2)`` FWD costs
``100*1*1 + 2*100*1 = 300`` multiply-adds while ``(A3 A2) A1`` costs
``2*100*1 + 2*1*1 = 202``. The mirrored claim is "if n_N = 1, BWD is optimal".

For each claim (``fwd``: ``n_1 = 1``; ``bwd``: ``n_N = 1``), each case and
each dim range ``1..dim_max`` the experiment draws seeded random chains of
several lengths. The fixed end is 1; the other dims are drawn log-uniform
(every octave equally likely, see
:func:`chainopt.experiments.optimal_vs_pure.log_uniform_ints`):

``others >= 2``
    every other dim on ``[2, dim_max]``: the claim must hold on every chain.
    If it fails, :class:`~chainopt.errors.ResultMismatchError` is raised: that
    would be a bug in the costs or the DP, not a finding.
``another = 1``
    every other dim on ``[1, dim_max]``, then one of them, at a uniformly
    drawn position, set to 1.

"Holds" means the pure mode's cost equals the optimal cost (a tie counts).
The notes' own example and its mirror are added as rows with
``source = 'seed notes'``; the shares are computed over the random chains
only.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.core.chain import bwd_cost, fwd_cost
from chainopt.core.strategies import optimal
from chainopt.errors import ResultMismatchError
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.experiments.optimal_vs_pure import log_uniform_ints
from chainopt.report.render import exact_int_column, markdown_table

__all__ = [
    "main",
    "run",
    "check_claim",
    "claim_row",
    "CLAIMS",
    "CASES",
    "SEED_EXAMPLES",
    "DIM_MAXES",
    "QUICK_DIM_MAXES",
    "FACTORS",
    "QUICK_FACTORS",
]

#: Mode -> (which end is 1, the claim in words).
CLAIMS = {"fwd": "n_1 = 1 -> FWD optimal", "bwd": "n_N = 1 -> BWD optimal"}
CASES = ("others >= 2", "another = 1")
#: The seed notes' counterexample and its mirror image.
SEED_EXAMPLES = {"fwd": (1, 1, 100, 2), "bwd": (2, 100, 1, 1)}

DIM_MAXES = (4, 16, 64, 256, 1024)
QUICK_DIM_MAXES = (4, 1024)
FACTORS = tuple(range(3, 11))
QUICK_FACTORS = (3, 5)
CHAINS = 25
QUICK_CHAINS = 4

_COST = {"fwd": fwd_cost, "bwd": bwd_cost}


def _others(dims, mode):
    """The dims other than the end the claim fixes to 1."""
    return dims[1:] if mode == "fwd" else dims[:-1]


def claim_row(dims, mode: str) -> dict:
    """The claim's facts for one chain: the pure mode's cost, the optimum, whether it holds.

    Examples
    --------
    >>> r = claim_row((1, 1, 100, 2), "fwd")
    >>> r["pure_cost"], r["optimal_cost"], r["holds"], r["optimal_plan"], r["case"]
    (300, 202, False, '(A3 A2) A1', 'another = 1')
    >>> claim_row((2, 100, 1, 1), "bwd")["optimal_plan"]
    'A3 (A2 A1)'
    """
    dims = tuple(int(d) for d in dims)
    end = dims[0] if mode == "fwd" else dims[-1]
    if end != 1:
        raise ValueError(f"the {mode} claim needs {'n_1' if mode == 'fwd' else 'n_N'} = 1, got dims {dims}")
    best = optimal(dims)
    pure = _COST[mode](dims)
    return {
        "mode": mode,
        "claim": CLAIMS[mode],
        "case": "another = 1" if 1 in _others(dims, mode) else "others >= 2",
        "factors": len(dims) - 1,
        "dims": " ".join(map(str, dims)),
        "pure_cost": pure,
        "optimal_cost": best.cost,
        "holds": pure == best.cost,
        "pure_over_optimal": float(Fraction(pure, best.cost)),
        "optimal_plan": str(best),
    }


def check_claim(row: dict) -> None:
    """Raise if the claim fails although every other dim is >= 2 (that is a bug)."""
    if row["case"] == "others >= 2" and not row["holds"]:
        raise ResultMismatchError(
            f"{row['claim']} failed on dims ({row['dims']}) although every other dim is >= 2: "
            f"{row['mode'].upper()} costs {row['pure_cost']}, the optimum {row['optimal_plan']} "
            f"costs {row['optimal_cost']}; the costs or the DP are wrong"
        )


def _draw(rng, mode, case, dim_max, n_factors):
    if case == "others >= 2":
        others = log_uniform_ints(rng, 2, dim_max, size=n_factors)
    else:
        others = log_uniform_ints(rng, 1, dim_max, size=n_factors)
        others[rng.integers(n_factors)] = 1
    others = others.tolist()
    return [1, *others] if mode == "fwd" else [*others, 1]


def run(dim_maxes=DIM_MAXES, factors=FACTORS, chains: int = CHAINS, *, seed: int = 0, progress=None):
    """One row per chain (random ones and the seed notes' two), every claim checked."""
    import pandas as pd

    rows = []
    for mode, dims in SEED_EXAMPLES.items():
        rows.append({"source": "seed notes", "dim_max": max(dims), **claim_row(dims, mode)})
    for m_index, mode in enumerate(CLAIMS):
        for c_index, case in enumerate(CASES):
            for dim_max in dim_maxes:
                if progress:
                    progress(f"notes_claim: {mode}, {case}, dims up to {dim_max}")
                for n in factors:
                    rng = np.random.default_rng([seed, m_index, c_index, dim_max, n])
                    for _ in range(chains):
                        row = claim_row(_draw(rng, mode, case, dim_max, n), mode)
                        if row["case"] != case:
                            raise ResultMismatchError(f"drew dims ({row['dims']}) for case {case!r}")
                        rows.append({"source": "random", "dim_max": dim_max, **row})
    for row in rows:
        check_claim(row)
    df = pd.DataFrame(rows)
    for column in ("pure_cost", "optimal_cost"):
        df[column] = exact_int_column(df[column].tolist())
    return df


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%" if share in (0.0, 1.0) else f"{100 * share:.1f}%"


def share_rows(df) -> list[dict]:
    """One row per (claim, case): 'share (holds/chains)' per dim range and over all."""
    random = df[df["source"] == "random"]
    rows = []
    for (mode, case), part in random.groupby(["mode", "case"], sort=False):
        row = {"claim": CLAIMS[mode], "case": case}
        for dim_max, sub in part.groupby("dim_max"):
            row[f"dims <= {dim_max}"] = f"{_percent(float(sub['holds'].mean()))} ({int(sub['holds'].sum())}/{len(sub)})"
        row["all"] = f"{_percent(float(part['holds'].mean()))} ({int(part['holds'].sum())}/{len(part)})"
        rows.append(row)
    return rows


def counterexamples(df, smallest: int = 3):
    """Per mode: the seed notes' example, the ``smallest`` random failures (fewest and smallest dims) and the worst."""
    fails = df[~df["holds"]].assign(
        _sum=lambda d: d["dims"].map(lambda text: sum(map(int, text.split())))
    )
    picked = []
    for mode in CLAIMS:
        mine = fails[fails["mode"] == mode]
        random = mine[mine["source"] == "random"]
        small = random.sort_values(["factors", "_sum", "dims"], kind="stable")
        small = small.drop_duplicates("dims").head(smallest)
        worst = random.nlargest(1, "pure_over_optimal")
        for label, part in (("seed notes", mine[mine["source"] == "seed notes"]), ("smallest found", small),
                            ("worst found", worst)):
            for r in part.itertuples():
                picked.append(
                    {
                        "claim": CLAIMS[mode],
                        "which": label,
                        "dims (input first)": f"({r.dims.replace(' ', ', ')})",
                        f"{mode.upper()} cost": int(r.pure_cost),
                        "optimal cost": int(r.optimal_cost),
                        "ratio": round(float(r.pure_over_optimal), 3),
                        "optimal bracketing": f"`{r.optimal_plan}`",
                    }
                )
    return picked


def _cost_rows(rows):
    """The per-mode cost column names differ; rename both to 'pure mode cost' for one table."""
    return [
        {("pure mode cost" if k.endswith(" cost") and k != "optimal cost" else k): v for k, v in r.items()}
        for r in rows
    ]


def _spread(by_range) -> str:
    """', from 17% (dims up to 16) to 26% (dims up to 4)', or nothing when every range gives the same share."""
    low, high = float(by_range.min()), float(by_range.max())
    if low == high:
        return ", the same for every dim range"
    return (
        f", from {_percent(low)} (dims up to {by_range.idxmin()}) "
        f"to {_percent(high)} (dims up to {by_range.idxmax()})"
    )


def reading(df) -> list[str]:
    """Sentences whose every number is computed from ``df``."""
    random = df[df["source"] == "random"]
    sentences = []
    for mode in CLAIMS:
        mine = random[random["mode"] == mode]
        safe = mine[mine["case"] == "others >= 2"]
        risky = mine[mine["case"] == "another = 1"]
        by_range = risky.groupby("dim_max")["holds"].mean()
        end = "n_1" if mode == "fwd" else "n_N"
        worst = risky.loc[risky["pure_over_optimal"].idxmax()]
        sentences.append(
            f"With {end} = 1 and every other dim >= 2, {mode.upper()} was optimal on "
            f"{int(safe['holds'].sum())} of {len(safe)} random chains; with another dim equal to 1 "
            f"only on {_percent(float(risky['holds'].mean()))} ({int(risky['holds'].sum())} of "
            f"{len(risky)}){_spread(by_range)}, and at worst it "
            f"cost {float(worst['pure_over_optimal']):.3f}x the optimum (dims ({worst['dims'].replace(' ', ', ')}))."
        )
    seed = df[(df["source"] == "seed notes") & (df["mode"] == "fwd")].iloc[0]
    sentences.append(
        f"The notes' example ({seed['dims'].replace(' ', ', ')}) computed here: FWD costs "
        f"{int(seed['pure_cost'])} multiply-adds, the optimum `{seed['optimal_plan']}` costs "
        f"{int(seed['optimal_cost'])}."
    )
    return [" ".join(sentences)]


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None):
    """Run the experiment and write ``notes_claim.{csv,png,md}`` into ``out_dir``.

    Returns
    -------
    dict
        ``paths``, ``data`` (one row per chain), ``holds`` ((mode, case) ->
        share of random chains where the claim holds), ``counterexamples``
        (mode -> number of random chains where it fails) and ``seed_example``
        (the notes' ``(1, 1, 100, 2)`` row as a dict).

    Raises
    ------
    ResultMismatchError
        If the claim fails on a chain whose other dims are all >= 2.
    """
    from chainopt.plots import plot_notes_claim

    out = prepare(out_dir)
    info = machine_info()
    dim_maxes = QUICK_DIM_MAXES if quick else DIM_MAXES
    factors = QUICK_FACTORS if quick else FACTORS
    chains = QUICK_CHAINS if quick else CHAINS
    df = run(dim_maxes, factors, chains, seed=seed, progress=progress)
    csv_path = write_csv(df, out / "notes_claim.csv")
    ax = plot_notes_claim(df)
    png_path = save_figure(ax.figure, out / "notes_claim.png")

    random = df[df["source"] == "random"]
    body = [
        "The lecture notes say: *if n_1 = 1, FWD is optimal* (a scalar input), and mirrored, *if "
        f"n_N = 1, BWD is optimal* (a scalar output, a gradient). Tested on {len(random):,} seeded "
        f"random chains (seed {seed}) of {min(factors)} to {max(factors)} factors, {chains} per "
        "claim, case, dim range and length. The fixed end is 1; the other dims are log-uniform on "
        "2..max (case *others >= 2*) or on 1..max with one of them set to 1 (case *another = 1*). "
        "The claim holds when the pure mode's cost equals the optimal cost (ties count).",
        "",
        *reading(df),
        "",
        "![how often the notes' claim holds](notes_claim.png)",
        "",
        "## How often the claim holds",
        "",
        markdown_table(share_rows(df)),
        "",
        "## Counterexamples",
        "",
        "All have another dim equal to 1. Costs in multiply-adds; *ratio* is the pure mode's cost "
        "over the optimum's; bracketings are written output side first.",
        "",
        markdown_table(_cost_rows(counterexamples(df))),
    ]
    md_path = write_markdown(
        out / "notes_claim.md",
        "The notes' claim: a scalar input makes FWD optimal",
        body,
        command="python experiments/notes_claim.py" + (" --quick" if quick else ""),
        info=info,
    )
    held = random.groupby(["mode", "case"], sort=False)["holds"].mean()
    seed_row = df[(df["source"] == "seed notes") & (df["mode"] == "fwd")].iloc[0]
    return {
        "paths": [csv_path, png_path, md_path],
        "reading": " ".join(reading(df)),
        "data": df,
        "holds": {key: float(v) for key, v in held.items()},
        "counterexamples": {mode: int((~random[random["mode"] == mode]["holds"]).sum()) for mode in CLAIMS},
        "seed_example": seed_row.to_dict(),
    }

"""Cost reports: the strategies of one chain side by side, as a table and as text.

``compare`` gives the tidy data (a pandas DataFrame, one row per strategy);
``CostReport`` renders the same facts as aligned text (the default, laid out
like opt_einsum's ``PathInfo``: a right-aligned header, a rule, one row per
step), markdown, csv or json. Costs stay exact ints in every machine format;
only the text view adds thousands separators.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from chainopt.core.chain import Chain, as_chain
from chainopt.errors import ChainoptError
from chainopt.core.plan import Plan
from chainopt.core.strategies import plan as make_plan

__all__ = ["compare", "CostReport", "cost_report", "FORMATS", "markdown_table", "exact_int_column"]

#: Output formats every report renders to.
FORMATS = ("text", "markdown", "csv", "json")

#: Strategies a cost report compares.
COMPARED = ("fwd", "bwd", "optimal")

_INT64_MAX = 2**63 - 1


def exact_int_column(values: Sequence[int]):
    """A pandas-ready column of ints: ``int64`` if every value fits, else exact Python ints."""
    import numpy as np

    values = [int(v) for v in values]
    if all(-_INT64_MAX <= v <= _INT64_MAX for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)


def _ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` rounded once (exact ints in, a float out; 0/0 is 1)."""
    if denominator == 0:
        return 1.0 if numerator == 0 else float("inf")
    return float(Fraction(numerator, denominator))


def compare(chain, strategies: Sequence[str] = COMPARED):
    """One row per strategy: its cost, ratio to the optimum, peak memory and bracketing.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims, input first.
    strategies : sequence of str
        Strategy names (see :data:`chainopt.STRATEGIES`).

    Returns
    -------
    pandas.DataFrame
        Columns ``strategy``, ``cost`` (multiply-adds, exact), ``ratio`` (cost
        over the optimal cost, a float rounded once from the exact fraction), ``peak_memory`` (matrix entries), ``depth``,
        ``steps`` and ``plan`` (the bracketing as text).

    Examples
    --------
    >>> df = compare([100, 1000, 10, 1000, 100])
    >>> print(df[["strategy", "cost", "ratio", "plan"]].to_string(index=False))
    strategy     cost    ratio            plan
         fwd 12000000 5.714286 A4 (A3 (A2 A1))
         bwd 12000000 5.714286 ((A4 A3) A2) A1
     optimal  2100000 1.000000 (A4 A3) (A2 A1)
    """
    chain = as_chain(chain)
    return _table(_plans_for(chain, strategies), list(strategies))


def _plans_for(chain: Chain, names: Sequence[str]) -> dict[str, Plan]:
    """Each named strategy's plan, and the optimal one, each computed once."""
    return {name: make_plan(chain, name) for name in dict.fromkeys([*names, "optimal"])}


def _table(plans: dict[str, Plan], names: Sequence[str]):
    import pandas as pd

    best = plans["optimal"].cost
    rows = [plans[name] for name in names]
    return pd.DataFrame(
        {
            "strategy": list(names),
            "cost": exact_int_column([p.cost for p in rows]),
            "ratio": [_ratio(p.cost, best) for p in rows],
            "peak_memory": exact_int_column([p.peak_memory for p in rows]),
            "depth": [p.depth for p in rows],
            "steps": [len(p.splits) for p in rows],
            "plan": [str(p) for p in rows],
        }
    )


@dataclass(frozen=True)
class CostReport:
    """The cost facts of one chain and one chosen plan, renderable in several formats.

    Attributes
    ----------
    chain : Chain
        The chain reported on.
    plan : Plan
        The plan whose steps are listed (by default the optimal one).
    strategy : str
        The name of the strategy that chose ``plan``.
    fwd_cost, bwd_cost, optimal_cost : int
        Exact multiply-adds of the two pure modes and of the optimum.
    plans : dict of str to Plan
        The plan of every compared strategy (fwd, bwd, optimal and ``strategy``).
    """

    chain: Chain
    plan: Plan
    strategy: str
    fwd_cost: int
    bwd_cost: int
    optimal_cost: int
    plans: dict = field(repr=False, compare=False)

    @property
    def better_pure(self) -> str:
        """``'fwd'`` or ``'bwd'``, whichever costs less, or ``'tie'``."""
        if self.fwd_cost == self.bwd_cost:
            return "tie"
        return "fwd" if self.fwd_cost < self.bwd_cost else "bwd"

    @property
    def speedup(self) -> float:
        """The better pure mode's cost over the optimum's (1.0 when a pure mode is optimal)."""
        return _ratio(min(self.fwd_cost, self.bwd_cost), self.optimal_cost)

    def table(self):
        """The per-strategy DataFrame (see :func:`compare`), the chosen strategy included."""
        names = list(COMPARED) + ([self.strategy] if self.strategy not in COMPARED else [])
        return _table(self.plans, names)

    def header(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs of the report's header block (text view)."""
        c = self.chain
        n_out, n_in = c.shape
        kind = {
            "tall": "tall (more outputs than inputs: forward mode's side)",
            "wide": "wide (fewer outputs than inputs: reverse mode's side)",
            "square": "square",
        }[c.kind]
        worse = max(self.fwd_cost, self.bwd_cost)
        better = min(self.fwd_cost, self.bwd_cost)
        if self.fwd_cost == self.bwd_cost:
            pure = "tie: FWD and BWD cost the same"
        else:
            pure = f"{self.better_pure.upper()}, {_ratio(worse, better):,.2f}x cheaper than the other"
        plan_cost = self.plan.cost
        rows = [
            ("chain", f"{_short_chain(c)}  ({c.n_factors:,} factor{'s' * (c.n_factors != 1)})"),
            ("Jacobian", f"{n_out} x {n_in}, {kind}"),
            ("FWD cost", f"{self.fwd_cost:,}"),
            ("BWD cost", f"{self.bwd_cost:,}"),
            ("optimal cost", f"{self.optimal_cost:,}"),
            ("better pure mode", pure),
            ("optimal speed-up", f"{self.speedup:,.2f}x over {'both pure modes' if self.better_pure == 'tie' else self.better_pure.upper()}"),
            (f"{self.strategy} plan", str(self.plan) if len(str(self.plan)) <= 200 else "(long; see steps)"),
        ]
        if self.strategy != "optimal":
            rows.append((f"{self.strategy} cost", f"{plan_cost:,} ({_ratio(plan_cost, self.optimal_cost):,.2f}x optimal)"))
        rows += [
            ("peak memory", f"{self.plan.peak_memory:,} entries in intermediates"),
        ]
        return rows

    def step_rows(self) -> list[dict]:
        """One dict per step of ``plan``: index, operands, shapes, cost, running total."""
        rows, total = [], 0
        for s in self.plan.steps:
            total += s.cost
            rows.append(
                {
                    "step": s.index,
                    "product": f"{s.left} @ {s.right}",
                    "shapes": f"{s.left_shape} @ {s.right_shape}",
                    "result": s.shape,
                    "cost": s.cost,
                    "cumulative": total,
                }
            )
        return rows

    # -- renderers -----------------------------------------------------------

    def format(self, fmt: str = "text", *, max_steps: int | None = 40) -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        renderers = {
            "text": lambda: self.to_text(max_steps=max_steps),
            "markdown": lambda: self.to_markdown(max_steps=max_steps),
            "csv": self.to_csv,
            "json": self.to_json,
        }
        if fmt not in renderers:
            raise ChainoptError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        return renderers[fmt]()

    def to_text(self, *, max_steps: int | None = 40) -> str:
        """The aligned text view: header block, a rule, then the plan's steps."""
        header = self.header()
        width = max(len(label) for label, _ in header)
        lines = [f"{label:>{width}}:  {value}" for label, value in header]
        steps = self.step_rows()
        shown = steps if max_steps is None else steps[:max_steps]
        table = [("step", "product", "shapes", "result", "multiply-adds", "cumulative")]
        for r in shown:
            result = f"{r['result'][0]} x {r['result'][1]}"
            table.append(
                (str(r["step"]), r["product"], r["shapes"], result, f"{r['cost']:,}", f"{r['cumulative']:,}")
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        align = ">", "<", "<", ">", ">", ">"
        body = ["  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths)).rstrip() for row in table]
        rule = "-" * max(len(line) for line in lines + body)
        lines += [rule] + body[:1] + [rule] + body[1:]
        if not steps:
            lines.append("(one factor: the Jacobian is A1 itself, no product needed)")
        elif len(shown) < len(steps):
            lines.append(f"... {len(steps) - len(shown):,} more steps (show them with --max-steps 0)")
        return "\n".join(lines)

    def to_markdown(self, *, max_steps: int | None = 40) -> str:
        """Markdown: the header as a two-column table, the strategies, the steps."""
        header = [{"": label, "value": value} for label, value in self.header()]
        table = self.table()
        steps = self.step_rows()
        shown = steps if max_steps is None else steps[:max_steps]
        parts = [
            markdown_table(header),
            markdown_table(table.to_dict("records")),
            markdown_table(shown) if shown else "(one factor: no product needed)",
        ]
        if len(shown) < len(steps):
            parts.append(f"... {len(steps) - len(shown):,} more steps")
        return "\n\n".join(parts)

    def to_csv(self) -> str:
        """CSV of the per-strategy table, exact ints, with the chain in every row."""
        table = self.table()
        table.insert(0, "chain", ",".join(map(str, self.chain.dims)))
        buffer = io.StringIO()
        table.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def to_dict(self) -> dict:
        """Every fact of the report as plain Python data (exact ints)."""
        return {
            "chain": list(self.chain.dims),
            "jacobian_shape": list(self.chain.shape),
            "kind": self.chain.kind,
            "fwd_cost": self.fwd_cost,
            "bwd_cost": self.bwd_cost,
            "optimal_cost": self.optimal_cost,
            "better_pure_mode": self.better_pure,
            "speedup_over_better_pure": self.speedup,
            "strategies": [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for row in self.table().to_dict("records")
            ],
            "plan": {
                "strategy": self.strategy,
                "bracketing": str(self.plan),
                "cost": self.plan.cost,
                "peak_memory": self.plan.peak_memory,
                "steps": [{**r, "result": list(r["result"])} for r in self.step_rows()],
            },
        }

    def to_json(self) -> str:
        """JSON of :meth:`to_dict`; costs are JSON integers, never rounded."""
        return json.dumps(self.to_dict(), indent=2)


def cost_report(chain, strategy: str = "optimal") -> CostReport:
    """The :class:`CostReport` of a chain, listing the steps of ``strategy``'s plan.

    Examples
    --------
    >>> print(cost_report([10, 100, 5, 50]).to_text())
               chain:  10 -> 100 -> 5 -> 50  (3 factors)
            Jacobian:  50 x 10, tall (more outputs than inputs: forward mode's side)
            FWD cost:  7,500
            BWD cost:  75,000
        optimal cost:  7,500
    better pure mode:  FWD, 10.00x cheaper than the other
    optimal speed-up:  1.00x over FWD
        optimal plan:  A3 (A2 A1)
         peak memory:  550 entries in intermediates
    --------------------------------------------------------------------------------
    step  product      shapes                 result  multiply-adds  cumulative
    --------------------------------------------------------------------------------
       1  A2 @ A1      (5, 100) @ (100, 10)   5 x 10          5,000       5,000
       2  A3 @ A2..A1  (50, 5) @ (5, 10)     50 x 10          2,500       7,500
    """
    chain = as_chain(chain)
    plans = _plans_for(chain, [*COMPARED, strategy])
    return CostReport(
        chain=chain,
        plan=plans[strategy],
        strategy=strategy,
        fwd_cost=plans["fwd"].cost,
        bwd_cost=plans["bwd"].cost,
        optimal_cost=plans["optimal"].cost,
        plans=plans,
    )


def _short_chain(chain: Chain, keep: int = 5) -> str:
    """``str(chain)``, with the middle elided when there are more than ``2 * keep + 1`` dims."""
    dims = chain.dims
    if len(dims) <= 2 * keep + 1:
        return str(chain)
    head, tail = " -> ".join(map(str, dims[:keep])), " -> ".join(map(str, dims[-keep:]))
    return f"{head} -> ... -> {tail}"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[dict]) -> str:
    """A GitHub-flavoured markdown table of ``rows`` (dicts sharing keys); exact values.

    Examples
    --------
    >>> print(markdown_table([{"a": 1, "b": "x"}, {"a": 22, "b": "y"}]))
    | a | b |
    |---:|:---|
    | 1 | x |
    | 22 | y |
    """
    if not rows:
        return ""
    keys = list(rows[0])
    numeric = [all(isinstance(r[k], (int, float)) and not isinstance(r[k], bool) for r in rows) for k in keys]
    lines = [
        "| " + " | ".join(map(str, keys)) + " |",
        "|" + "|".join("---:" if num else ":---" for num in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)

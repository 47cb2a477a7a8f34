"""Cost reports: the strategies of one chain side by side, as a table and as text.

``compare`` gives the tidy data (a pandas DataFrame, one row per strategy);
``CostReport`` renders the same facts as aligned text (the default, laid out
like opt_einsum's ``PathInfo``: a right-aligned header, a rule, one row per
step), markdown, csv or json. Costs stay exact ints in every machine format;
only the text view adds thousands separators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chainopt.core.chain import Chain, as_chain, bwd_cost, fwd_cost
from chainopt.core.plan import Plan, as_problem
from chainopt.core.strategies import plan as make_plan
from chainopt.core.strategies import strategy_name
from chainopt.errors import ChainoptError
from chainopt.report.factor_report import FactorCostReport, factor_cost_report
from chainopt.report.plan_report import (
    RenderedReport,
    check_makespan_size,
    first_steps,
    makespan_section,
    plan_text,
    short_plan_text,
)
from chainopt.report.plan_report import ratio as _ratio
from chainopt.report.render import FORMATS, Column, Document, Table, exact_int_column, records

# FORMATS is re-exported: the command line's --format choices are read from here.
__all__ = ["compare", "CostReport", "FactorCostReport", "cost_report", "FORMATS"]

#: Strategies a cost report compares.
COMPARED = ("fwd", "bwd", "optimal")


class _Plans(dict):
    """Each strategy's plan of one chain, made on first use and kept (so each is made once)."""

    def __init__(self, chain: Chain, plans: dict):
        super().__init__(plans)
        self.chain = chain

    def __missing__(self, name: str) -> Plan:
        self[name] = plan = make_plan(self.chain, name)
        return plan


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
        over the optimal cost, a float rounded once from the exact fraction), ``peak_memory`` (matrix entries),
        ``depth``, ``steps`` and ``plan`` (the bracketing as text).

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
    names = [strategy_name(name) for name in strategies]
    return _table(_Plans(chain, {}), names)


def _table(plans: dict[str, Plan], names: Sequence[str], text=plan_text):
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
            "plan": [text(p) for p in rows],
        }
    )


@dataclass(frozen=True)
class CostReport(RenderedReport):
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
        The plan of every compared strategy (fwd, bwd, optimal and ``strategy``),
        each made when first needed (the text view needs only the optimum's).
    parallel : Plan or None
        The optimal plan for ``machines`` other than 1 (makespan, schedule).
    source : str or None
        Where the dims came from (a file name), shown first in the header.
    """

    chain: Chain
    plan: Plan
    strategy: str
    fwd_cost: int
    bwd_cost: int
    optimal_cost: int
    plans: dict = field(repr=False, compare=False)
    parallel: Plan | None = field(default=None, repr=False, compare=False)
    source: str | None = None

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

    def table(self, *, short: bool = False):
        """The per-strategy DataFrame (see :func:`compare`), the chosen strategy included.

        With ``short``, a long bracketing is not written out (``'(long)'``).
        """
        names = list(COMPARED) + ([self.strategy] if self.strategy not in COMPARED else [])
        return _table(self.plans, names, text=_short_text if short else plan_text)

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
        over = "both pure modes" if self.better_pure == "tie" else self.better_pure.upper()
        rows = [("source", self.source)] if self.source else []
        rows += [
            ("chain", f"{_short_chain(c)}  ({c.n_factors:,} factor{'s' * (c.n_factors != 1)})"),
            ("Jacobian", f"{n_out} x {n_in}, {kind}"),
            ("FWD cost", f"{self.fwd_cost:,}"),
            ("BWD cost", f"{self.bwd_cost:,}"),
            ("optimal cost", f"{self.optimal_cost:,}"),
            ("better pure mode", pure),
            ("optimal speed-up", f"{self.speedup:,.2f}x over {over}"),
            (f"{self.strategy} plan", short_plan_text(self.plan)),
        ]
        if self.strategy != "optimal":
            ratio = _ratio(plan_cost, self.optimal_cost)
            rows.append((f"{self.strategy} cost", f"{plan_cost:,} ({ratio:,.2f}x optimal)"))
        rows += [
            ("peak memory", f"{self.plan.peak_memory:,} entries in intermediates"),
        ]
        if self.parallel is not None:
            rows += makespan_section(self.parallel, self.optimal_cost, max_rows=0)[0]
        return rows

    def step_rows(self, max_steps: int | None = None) -> list[dict]:
        """One dict per step of ``plan`` (the first ``max_steps``; all for ``None``): operands, cost, total."""
        rows, total = [], 0
        for s in first_steps(self.plan, max_steps):
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

    def document(self, fmt: str | None = None, *, max_steps: int | None = 40) -> Document:
        """The report for :mod:`chainopt.report.render`: header, strategies, steps, csv and json.

        With ``fmt``, only what that format shows is built (a long chain's
        text view makes one plan and ``max_steps`` steps, nothing quadratic).
        """
        header, tables, csv_table, data = [], [], (), {}
        if fmt in (None, "text", "markdown"):
            shown = self.step_rows(max_steps)
            more = len(self.plan.operations) - len(shown)
            notes = {}
            if not shown:
                notes["text"] = "(one factor: the Jacobian is A1 itself, no product needed)"
            elif more > 0:
                notes = {"text": f"... {more:,} more steps (show them with --max-steps 0)",
                         "markdown": f"... {more:,} more steps"}
            header = self.header()
            # a long bracketing is in the csv and json; markdown keeps it short
            strategies = self.table(short=True) if fmt != "text" else []
            tables = [
                Table(strategies, views=("markdown",)),
                Table(shown, columns=_STEP_COLUMNS, notes=notes, empty={"markdown": "(one factor: no product needed)"}),
            ]
            if self.parallel is not None:
                tables.append(makespan_section(self.parallel, self.optimal_cost, max_rows=max_steps)[1])
        if fmt in (None, "csv"):
            csv_table = self.table()
            csv_table.insert(0, "chain", ",".join(map(str, self.chain.dims)))
        if fmt in (None, "json"):
            data = self.to_dict()
        return Document(header=header, tables=tables, csv=csv_table, data=data)





    def to_dict(self) -> dict:
        """Every fact of the report as plain Python data (exact ints)."""
        data = {
            "chain": list(self.chain.dims),
            "jacobian_shape": list(self.chain.shape),
            "kind": self.chain.kind,
            "fwd_cost": self.fwd_cost,
            "bwd_cost": self.bwd_cost,
            "optimal_cost": self.optimal_cost,
            "better_pure_mode": self.better_pure,
            "speedup_over_better_pure": self.speedup,
            "strategies": records(self.table()),
            "plan": {
                "strategy": self.strategy,
                "bracketing": plan_text(self.plan),
                "cost": self.plan.cost,
                "peak_memory": self.plan.peak_memory,
                "steps": [{**r, "result": list(r["result"])} for r in self.step_rows()],
            },
        }
        if self.parallel is not None:
            data["machines"] = makespan_section(self.parallel, self.optimal_cost, max_rows=None)[2]
        return data



#: The text view of the steps table.
_STEP_COLUMNS = (
    Column("step", fmt=str, align=">"),
    Column("product", align="<"),
    Column("shapes", align="<"),
    Column("result", fmt=lambda shape: f"{shape[0]} x {shape[1]}", align=">"),
    Column("cost", "multiply-adds", fmt=",", align=">"),
    Column("cumulative", fmt=",", align=">"),
)


def cost_report(chain, strategy: str = "optimal", *, memory_limit: int | None = None, machines: int | None = 1,
                source: str | None = None):
    """The cost report of a chain, listing the steps of ``strategy``'s plan.

    For dims (formed Jacobians) a :class:`CostReport`: FWD, BWD and the
    optimum. For a sequence of :class:`~chainopt.Factor` (a generalized
    chain, e.g. ``net.factors()``) a :class:`FactorCostReport`: FWD (the
    global tangent sweep), BWD (the global adjoint sweep), preaccumulate and
    the optimum, under ``memory_limit``. With ``machines`` other than 1 (an
    int, or ``None`` for unlimited) both add the optimal plan's makespan on
    that many machines, its speed-up over one machine and its schedule.
    ``strategy`` is matched case-insensitively (``'FWD'`` is ``'fwd'``).

    Raises
    ------
    ChainoptError
        Bad dims or factors, an unknown strategy, a memory limit on dims, or
        a makespan DP that would run for more than about a minute (see
        :func:`chainopt.report.plan_report.check_makespan_size`).

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
    >>> from chainopt.layers import mlp
    >>> report = cost_report(mlp([784, 512, 10]).factors())
    >>> report.cost("fwd"), report.cost("bwd"), report.cost("preaccumulate"), report.optimal_cost
    (4415488, 4019200, 4019712, 4019200)
    """
    strategy = strategy_name(strategy)
    base, factors = as_problem(chain)
    if factors is not None:
        return factor_cost_report(factors, strategy, memory_limit=memory_limit, machines=machines, source=source)
    if memory_limit is not None:
        raise ChainoptError(f"memory_limit={memory_limit!r} applies to factors (tapes); dims have none")
    check_makespan_size(base.n_factors, machines)
    plans = _Plans(base, {"optimal": make_plan(base, "optimal")})
    parallel = None if machines == 1 else make_plan(base, "optimal", machines=machines)
    return CostReport(
        chain=base,
        plan=plans[strategy],
        strategy=strategy,
        fwd_cost=fwd_cost(base),
        bwd_cost=bwd_cost(base),
        optimal_cost=plans["optimal"].cost,
        plans=plans,
        parallel=parallel,
        source=source,
    )


def _short_text(plan: Plan) -> str:
    text = short_plan_text(plan)
    return "(long)" if text.startswith("(long") else text


def _short_chain(chain: Chain, keep: int = 5) -> str:
    """``str(chain)``, with the middle elided when there are more than ``2 * keep + 1`` dims."""
    dims = chain.dims
    if len(dims) <= 2 * keep + 1:
        return str(chain)
    head, tail = " -> ".join(map(str, dims[:keep])), " -> ".join(map(str, dims[-keep:]))
    return f"{head} -> ... -> {tail}"

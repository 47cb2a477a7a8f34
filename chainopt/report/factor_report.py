"""The cost report of a generalized Jacobian chain: FWD, BWD, preaccumulate and the optimum, step by step.

A chain of :class:`~chainopt.core.factors.Factor` (a network's
``net.factors()``, or a table read by :func:`~chainopt.core.factors.read_factors`)
can be accumulated by the global tangent sweep (FWD), the global adjoint
sweep (BWD), by forming every factor's Jacobian and bracketing the products
optimally (preaccumulate), or by the optimal mixture of all of these. The
report shows the four costs (exact multiply-adds), the optimum's speed-up
over each, and the chosen plan's operations (op, operands, shape, cost, mode,
tape); with ``machines`` also its makespan and schedule
(:func:`chainopt.report.plan_report.makespan_section`).

A strategy that is impossible under the tape-memory limit (the adjoint sweep
through a factor whose tape exceeds it) is reported as such, with the reason,
instead of failing the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chainopt.core.chain import Chain
from chainopt.core.factors import Factor
from chainopt.core.plan import Plan, as_problem
from chainopt.core.strategies import plan as make_plan
from chainopt.errors import MemoryBudgetError
from chainopt.report.plan_report import (
    RenderedReport,
    check_generalized_size,
    check_makespan_size,
    first_steps,
    makespan_section,
    plan_text,
    ratio,
    short_plan_text,
)
from chainopt.report.render import Column, Document, Table

__all__ = ["FactorCostReport", "factor_cost_report", "COMPARED_FACTORS"]

#: The strategies a generalized report compares, in its order.
COMPARED_FACTORS = ("fwd", "bwd", "preaccumulate", "optimal")

#: How the header names each compared strategy.
_LABEL = {"fwd": "FWD", "bwd": "BWD", "preaccumulate": "preaccumulate", "optimal": "optimal"}
_MEANING = {"fwd": "global tangent sweep", "bwd": "global adjoint sweep",
            "preaccumulate": "form every factor, then bracket optimally"}


@dataclass(frozen=True)
class FactorCostReport(RenderedReport):
    """The cost facts of a generalized chain and one chosen plan, renderable in several formats.

    Attributes
    ----------
    factors : tuple of Factor
    chain : Chain
        The chain's sizes ``(n_1, ..., n_{q+1})``.
    memory_limit : int or None
        The tape-memory limit (``None``: unlimited).
    strategy : str
        The strategy whose plan is listed step by step.
    plan : Plan
        That plan.
    plans : dict of str to Plan or str
        Each compared strategy's plan, or why it is impossible (a message).
    source : str or None
        Where the factors came from (a file, ``mlp:784,512,10 (tanh)``).
    parallel : Plan or None
        The plan for ``machines`` other than 1 (its makespan and schedule).
    """

    factors: tuple
    chain: Chain
    memory_limit: int | None
    strategy: str
    plan: Plan
    plans: dict = field(repr=False, compare=False)
    source: str | None = None
    parallel: Plan | None = field(default=None, repr=False, compare=False)

    def cost(self, name: str) -> int | None:
        """The cost of strategy ``name``'s plan (``None`` if impossible under the memory limit)."""
        p = self.plans[name]
        return p.cost if isinstance(p, Plan) else None

    @property
    def optimal_cost(self) -> int:
        """Exact multiply-adds of the optimal plan."""
        return self.plans["optimal"].cost

    def speedups(self) -> dict[str, float | None]:
        """The optimum's speed-up over each compared strategy: its cost over the optimal cost."""
        best = self.optimal_cost
        return {n: (None if self.cost(n) is None else ratio(self.cost(n), best)) for n in COMPARED_FACTORS[:-1]}

    def _factor_summary(self) -> str:
        q = len(self.factors)
        given = sum(f.given for f in self.factors)
        diagonal = sum(f.diagonal and not f.given for f in self.factors)
        free = q - given - diagonal
        return f"{q:,}: {free:,} matrix-free, {diagonal:,} diagonal, {given:,} given"

    def header(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs of the report's header block (text view)."""
        c = self.chain
        rows = []
        if self.source:
            rows.append(("source", self.source))
        limit = "unlimited" if self.memory_limit is None else f"{self.memory_limit:,} tape entries"
        rows += [("chain", _short_dims(c.dims)), ("factors", self._factor_summary()), ("memory limit", limit),
                 ("Jacobian", f"{c.shape[0]} x {c.shape[1]}")]
        for name in COMPARED_FACTORS:
            p = self.plans[name]
            meaning = f" ({_MEANING[name]})" if name in _MEANING else ""
            rows.append((f"{_LABEL[name]} cost", f"{p.cost:,}{meaning}" if isinstance(p, Plan) else _IMPOSSIBLE))
        for name, value in self.speedups().items():
            rows.append((f"speed-up over {_LABEL[name]}", "-" if value is None else f"{value:,.2f}x"))
        rows.append((f"{self.strategy} plan", short_plan_text(self.plan)))
        if self.strategy != "optimal":
            rows.append((f"{self.strategy} cost", f"{self.plan.cost:,} "
                         f"({ratio(self.plan.cost, self.optimal_cost):,.2f}x optimal)"))
        rows.append(("peak memory", f"{self.plan.peak_memory:,} entries in intermediates"))
        return rows

    def strategy_rows(self) -> list[dict]:
        """One row per compared strategy: cost (``None`` if impossible), speed-up of the optimum, plan."""
        speedups = self.speedups()
        rows = []
        for name in dict.fromkeys([*COMPARED_FACTORS, self.strategy]):
            p = self.plans[name]
            ok = isinstance(p, Plan)
            rows.append({"strategy": name, "cost": p.cost if ok else None,
                         "optimal_speedup": speedups.get(name, ratio(p.cost, self.optimal_cost) if ok else None),
                         "plan": plan_text(p) if ok else "", "note": "" if ok else p})
        return rows

    def step_rows(self, max_steps: int | None = None) -> list[dict]:
        """The chosen plan's first ``max_steps`` operations (all for ``None``), with a running total."""
        rows, total = [], 0
        for s in first_steps(self.plan, max_steps):
            total += s.cost
            operands = {"MUL": f"{s.left} @ {s.right}", "TAN": f"{s.left} ({s.right})",
                        "ADJ": f"({s.left}) {s.right}"}.get(s.op, s.left)
            rows.append({"step": s.index, "op": s.op, "operands": operands, "shape": s.shape,
                         "cost": s.cost, "mode": s.mode, "tape": s.tape, "cumulative": total})
        return rows

    # -- renderers -------------------------------------------------------------------------------

    def document(self, fmt: str = "text", *, max_steps: int | None = 40) -> Document:
        """The report for :mod:`chainopt.report.render` (only what ``fmt`` shows is built)."""
        header, tables, csv, data = list(self.header()) if fmt in ("text", "markdown") else [], [], (), {}
        if fmt in ("text", "markdown"):
            steps = self.step_rows(max_steps)
            more = len(self.plan.operations) - len(steps)
            notes = {} if more <= 0 else {"text": f"... {more:,} more steps (show them with --max-steps 0)",
                                          "markdown": f"... {more:,} more steps"}
            rows = [{k: "-" if v is None else v for k, v in r.items()} for r in self.strategy_rows()]
            rows = [{**r, "plan": r["plan"] if len(r["plan"]) <= 200 else "(long)"} for r in rows]
            tables = [Table(rows, views=("markdown",)),
                      Table(steps, columns=_STEP_COLUMNS, notes=notes,
                            empty={"markdown": "(one given factor: nothing to compute)"})]
        if self.parallel is not None:
            pairs, schedule, _ = makespan_section(self.parallel, self.optimal_cost, max_rows=max_steps)
            header += pairs
            tables.append(schedule)
        if fmt == "csv":
            dims = ",".join(map(str, self.chain.dims))
            limit = self.memory_limit
            csv = [{"chain": dims, "memory_limit": limit, **r} for r in self.strategy_rows()]
        if fmt == "json":
            data = self.to_dict()
        return Document(header=header, tables=tables, csv=csv, data=data)






    def to_dict(self) -> dict:
        """Every fact of the report as plain Python data (exact ints)."""
        data = {
            "source": self.source,
            "chain": list(self.chain.dims),
            "factors": [{k: getattr(f, k) for k in Factor.__dataclass_fields__} for f in self.factors],
            "memory_limit": self.memory_limit,
            "jacobian_shape": list(self.chain.shape),
            **{f"{name}_cost": self.cost(name) for name in COMPARED_FACTORS},
            "optimal_speedup": self.speedups(),
            "strategies": self.strategy_rows(),
            "plan": {"strategy": self.strategy, "bracketing": plan_text(self.plan), "cost": self.plan.cost,
                     "peak_memory": self.plan.peak_memory,
                     "steps": [{**r, "shape": list(r["shape"])} for r in self.step_rows()]},
        }
        if self.parallel is not None:
            data["machines"] = makespan_section(self.parallel, self.optimal_cost, max_rows=None)[2]
        return data


_STEP_COLUMNS = (
    Column("step", fmt=str, align=">"),
    Column("op", align="<"),
    Column("operands", align="<"),
    Column("shape", fmt=lambda shape: f"{shape[0]} x {shape[1]}", align=">"),
    Column("cost", "multiply-adds", fmt=",", align=">"),
    Column("mode", align="<"),
    Column("tape", fmt=",", align=">"),
    Column("cumulative", fmt=",", align=">"),
)


#: The header's word for a strategy the memory limit rules out (the reason is in the csv and json).
_IMPOSSIBLE = "impossible: an adjoint's tape exceeds the memory limit"


def _short_dims(dims, keep: int = 5) -> str:
    q = len(dims) - 1
    text = " -> ".join(map(str, dims)) if len(dims) <= 2 * keep + 1 else (
        " -> ".join(map(str, dims[:keep])) + " -> ... -> " + " -> ".join(map(str, dims[-keep:])))
    return f"{text}  ({q:,} factor{'s' * (q != 1)})"


def factor_cost_report(factors, strategy: str = "optimal", *, memory_limit: int | None = None,
                       machines: int | None = 1, source: str | None = None) -> FactorCostReport:
    """The :class:`FactorCostReport` of a generalized chain (``strategy`` already a registered name).

    Every plan is computed once, here; a compared strategy that the memory
    limit makes impossible is kept as the reason (a string).
    """
    chain, factors = as_problem(list(factors) if not isinstance(factors, Factor) else factors)
    check_generalized_size(chain.n_factors)
    check_makespan_size(chain.n_factors, machines)
    options = {} if memory_limit is None else {"memory_limit": memory_limit}
    plans: dict = {}
    for name in dict.fromkeys([*COMPARED_FACTORS, strategy]):
        try:
            plans[name] = make_plan(factors, name, **options)
        except MemoryBudgetError as exc:
            if name in ("optimal", strategy):
                raise
            plans[name] = str(exc)
    parallel = None if machines == 1 else make_plan(factors, "optimal", machines=machines, **options)
    return FactorCostReport(factors=factors, chain=chain, memory_limit=memory_limit, strategy=strategy,
                            plan=plans[strategy], plans=plans, source=source, parallel=parallel)

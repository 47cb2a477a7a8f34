"""Report pieces any plan shares: its text in linear time, its first steps, its makespan and schedule.

The cost reports (:mod:`chainopt.report.cost` for dims,
:mod:`chainopt.report.factor_report` for generalized chains) build on these, so
that a chain of a million factors is reported in time linear in its length:

- :func:`plan_text` writes a plan's bracketing in one pass (``str(plan)``
  copies the growing text at every operation, quadratic for forward mode);
- :func:`first_steps` makes only the steps a text view shows;
- :func:`makespan_section` is what ``--machines`` adds: the makespan, the
  speed-up over one machine and the schedule (worker, start, end per
  operation);
- :func:`check_makespan_size` refuses, before any work, a makespan DP that
  would run for more than about a minute.
"""

from __future__ import annotations

from fractions import Fraction

from chainopt.core.plan import Plan, Step
from chainopt.errors import ChainTooLongError
from chainopt.report.render import Column, Table, render

__all__ = [
    "plan_text",
    "first_steps",
    "ratio",
    "check_makespan_size",
    "check_generalized_size",
    "GENERALIZED_MAX_FACTORS",
    "makespan_section",
    "MAKESPAN_MAX_WORK",
    "PLAN_TEXT_WIDTH",
]

#: Longest bracketing a header shows in full (longer ones say where to find them).
PLAN_TEXT_WIDTH = 200


def ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` rounded once (exact ints in, a float out; 0/0 is 1).

    Examples
    --------
    >>> ratio(12_000_000, 2_100_000)
    5.714285714285714
    >>> ratio(0, 0), ratio(1, 0)
    (1.0, inf)
    """
    if denominator == 0:
        return 1.0 if numerator == 0 else float("inf")
    return float(Fraction(numerator, denominator))


def plan_text(plan: Plan) -> str:
    """The plan's text, ``str(plan)`` (linear in its length: see :func:`chainopt.core.notation.render`).

    Examples
    --------
    >>> from chainopt.core.strategies import plan
    >>> p = plan([2, 3, 4, 5, 6], "fwd")
    >>> plan_text(p), plan_text(p) == str(p)
    ('A4 (A3 (A2 A1))', True)
    """
    return str(plan)  # core.notation.render: one walk over an explicit stack


def short_plan_text(plan: Plan) -> str:
    """The bracketing for a header: in full up to ``PLAN_TEXT_WIDTH`` characters, else a pointer to the steps."""
    if plan.chain.n_factors > PLAN_TEXT_WIDTH // 2:  # at least 2 characters per factor: too long, do not build it
        return "(long; see the steps)"
    text = plan_text(plan)
    return text if len(text) <= PLAN_TEXT_WIDTH else "(long; see the steps)"


def first_steps(plan: Plan, count: int | None) -> list[Step]:
    """The first ``count`` steps of ``plan`` (all of them for ``None``), making no others.

    Examples
    --------
    >>> from chainopt.core.strategies import plan
    >>> [s.cost for s in first_steps(plan([2, 3, 4, 5, 6], "fwd"), 2)]
    [24, 40]
    """
    if count is None or count >= len(plan.operations):
        return list(plan.steps)
    # Plan.steps makes every step (seconds for a million); make only the ones shown, by the same code
    return [plan._step(i, *operation) for i, operation in enumerate(plan.operations[:count], start=1)]


# -- machines ---------------------------------------------------------------------------------

#: Largest ``q**3 * (m + 4)`` (``q`` factors, ``m`` machines, unlimited counted as 2) the makespan
#: DP is asked for: about a minute. See :func:`check_makespan_size` for the measurements.
MAKESPAN_MAX_WORK = 400**3 * 12


def check_makespan_size(n_factors: int, machines: int | None) -> None:
    """Refuse, before any work, a makespan DP that would run for more than about a minute.

    The Märtens-Naumann DP takes ``O(q^3 m^2)`` time for ``q`` factors and
    ``m`` machines (``m`` at most ``q``), but at the sizes that finish in
    minutes its time grows as about ``q^3 (m + 4)``. Measured on this
    project's 2-core machine while other work ran (random dims in [1, 1000],
    one call each): q = 200 took 2.7 s on 2 machines, 7.6 s on 8, 2.2 s
    unlimited; q = 400 took 29 s on 2 machines, 59 s on 8, 17 s unlimited;
    q = 100 took 2.6 s on 8 machines and 3.9 s on 32. The limit
    ``q^3 (m + 4) <= 400^3 * 12`` (unlimited counted as 2 machines) allows
    400 factors on 8 machines (59 s measured), 503 on 2 (about 58 s by that
    growth), 277 on 32 (well under a minute: the growth in ``m`` is slower
    there).

    Raises
    ------
    ChainTooLongError
        Naming the length, the machine count, and what would fit.

    Examples
    --------
    >>> check_makespan_size(400, 8)
    >>> check_makespan_size(2000, 4)
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainTooLongError: the makespan DP for 2,000 factors on 4 machines would run for more than \
about a minute (at most 457 factors on 4 machines); plan for 1 machine, or a shorter chain
    """
    if machines == 1:
        return
    m = 2 if machines is None else min(machines, n_factors)
    if n_factors**3 * (m + 4) <= MAKESPAN_MAX_WORK:
        return
    longest = int(round((MAKESPAN_MAX_WORK / (m + 4)) ** (1 / 3)))
    while longest**3 * (m + 4) > MAKESPAN_MAX_WORK:
        longest -= 1
    on = "unlimited machines" if machines is None else f"{machines:,} machines"
    raise ChainTooLongError(
        f"the makespan DP for {n_factors:,} factors on {on} would run for more than about a minute "
        f"(at most {longest:,} factors on {on}); plan for 1 machine, or a shorter chain"
    )


#: The longest generalized chain a report plans (two O(q^3) DPs: the optimum and preaccumulate).
GENERALIZED_MAX_FACTORS = 3000


def check_generalized_size(n_factors: int) -> None:
    """Refuse, before any work, a generalized report whose DPs would run for more than about a minute.

    A generalized report runs the O(q^3) generalized DP twice (the optimum,
    and preaccumulate's bracketing). Measured on this project's 2-core machine
    while other work ran (random sizes in [1, 1000], matrix-free factors):
    q = 1,000 took 0.5 s + 0.5 s, q = 2,000 8.8 s + 4.3 s, so by the cubic
    growth 3,000 factors take about 45 s.

    Examples
    --------
    >>> check_generalized_size(3000)
    >>> check_generalized_size(3001)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainTooLongError: a generalized chain of 3,001 factors is too long ...
    """
    if n_factors > GENERALIZED_MAX_FACTORS:
        raise ChainTooLongError(
            f"a generalized chain of {n_factors:,} factors is too long to report on (at most "
            f"{GENERALIZED_MAX_FACTORS:,}: the generalized DP is O(q^3) and would run for minutes); for formed "
            "Jacobians give the dims instead (any length)"
        )


def _schedule_rows(plan: Plan) -> list[dict]:
    """One row per scheduled operation (free ACCs of given factors left out)."""
    factors = plan.factors
    rows = []
    for op in plan.schedule or ():
        if op.op == "ACC" and op.cost == 0 and (factors is None or factors[op.lo].given):
            continue
        rows.append({"op": op.op, "factors": _range(op.lo, op.hi), "worker": op.worker,
                     "start": op.start, "end": op.end, "cost": op.cost})
    return rows


def _range(lo: int, hi: int) -> str:
    return f"{lo + 1}" if lo == hi else f"{hi + 1}..{lo + 1}"


_SCHEDULE_COLUMNS = (
    Column("op", align="<"),
    Column("factors", align="<"),
    Column("worker", fmt=str, align=">"),
    Column("start", fmt=",", align=">"),
    Column("end", fmt=",", align=">"),
    Column("cost", "multiply-adds", fmt=",", align=">"),
)


def _short_plan(plan: Plan, limit: int = 100) -> str:
    """The plan's text for a header line, or a pointer to the schedule when it is long."""
    if plan.chain.n_factors > 2 * limit:
        return "(long; see the schedule)"
    text = plan_text(plan)
    return text if len(text) <= limit else "(long; see the schedule)"


def makespan_section(parallel: Plan, one_machine_cost: int, *, max_rows: int | None = 40):
    """What ``--machines`` adds to a report: header pairs, the schedule table and the json data.

    ``one_machine_cost`` is the sequential optimum (the makespan on one machine).

    Returns
    -------
    header : list of (str, str)
    table : Table
        The schedule, operations in the order they were scheduled (at most
        ``max_rows`` in text and markdown).
    data : dict
        Exact ints: ``machines`` (``None``: unlimited), ``makespan``,
        ``total_work``, ``one_machine``, ``speedup`` and ``schedule``.
    """
    machines = parallel.machines
    on = "unlimited machines" if machines is None else f"{machines:,} machine{'s' * (machines != 1)}"
    speedup = ratio(one_machine_cost, parallel.makespan)
    header = [
        ("machines", "unlimited" if machines is None else f"{machines:,}"),
        ("makespan", f"{parallel.makespan:,} multiply-adds on {on} (total work {parallel.cost:,})"),
        ("makespan plan", _short_plan(parallel)),
        ("speed-up over 1 machine", f"{speedup:,.2f}x (1 machine: {one_machine_cost:,})" if parallel.makespan
         else "none: there is no work to share (1 machine: 0)"),
    ]
    rows = _schedule_rows(parallel)
    shown = rows if max_rows is None else rows[:max_rows]
    notes = {}
    if not rows:
        notes = {"text": "(one factor: nothing to schedule)", "markdown": "(one factor: nothing to schedule)"}
    elif len(shown) < len(rows):
        more = len(rows) - len(shown)
        notes = {"text": f"... {more:,} more operations (show them with --max-steps 0)",
                 "markdown": f"... {more:,} more operations"}
    title = f"schedule of the shortest-makespan plan on {on}"
    table = Table(shown, columns=_SCHEDULE_COLUMNS, title=title, notes=notes)
    data = {"machines": machines, "makespan_plan": plan_text(parallel), "makespan": parallel.makespan,
            "total_work": parallel.cost,
            "one_machine": one_machine_cost, "speedup": speedup, "schedule": rows}
    return header, table, data


class RenderedReport:
    """The four views every cost report offers, on top of its ``document(fmt, max_steps=...)``."""

    def format(self, fmt: str = "text", *, max_steps: int | None = 40) -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        return render(self.document(fmt, max_steps=max_steps), fmt)

    def to_text(self, *, max_steps: int | None = 40) -> str:
        """The aligned text view: header block, a rule, then the plan's steps."""
        return self.format("text", max_steps=max_steps)

    def to_markdown(self, *, max_steps: int | None = 40) -> str:
        """Markdown: the header as a two-column table, the strategies, the steps."""
        return self.format("markdown", max_steps=max_steps)

    def to_csv(self) -> str:
        """CSV of the per-strategy table, exact ints, with the chain in every row."""
        return self.format("csv")

    def to_json(self) -> str:
        """JSON of ``to_dict()``; costs are JSON integers, never rounded."""
        return self.format("json")

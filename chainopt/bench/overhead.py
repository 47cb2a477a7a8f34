"""What the one-call API costs over a hand-written ``@`` tree: ``multiply`` and ``execute`` vs bare ``@``.

The harness times plans with every check done once, outside the timing;
a user calls ``co.multiply(mats, "optimal")`` or ``co.execute(plan, mats)``
in a loop, and pays whatever those do per call (planning, validation,
finiteness). :func:`public_api_overhead` times exactly those calls against
the same products written as one ``@`` expression in the same order, on the
same arrays, call by call and interleaved, and reports medians, and the
ratios paired round by round with their interquartile range.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import numpy as np

from chainopt.bench.harness import balanced_orders
from chainopt.errors import ResultMismatchError
from chainopt.execution import execute, multiply, random_jacobians
from chainopt.execution.cache import cached_plan

__all__ = ["bare_expression", "public_api_overhead", "overhead_section", "OVERHEAD_TARGET"]

#: The target: the public calls at most this fraction slower than the bare ``@`` tree.
OVERHEAD_TARGET = 0.10


def bare_expression(plan) -> str:
    """The plan as one ``@`` expression on ``m[0]`` (``A_1``) .. ``m[N-1]``, as a person would write it.

    Examples
    --------
    >>> import chainopt as co
    >>> bare_expression(co.plan([100, 1000, 10, 1000, 100], "optimal"))
    '(m[3] @ m[2]) @ (m[1] @ m[0])'
    """
    text = {(k, k): f"m[{k}]" for k in range(plan.chain.n_factors)}
    for lo, mid, hi in plan.splits:
        left, right = text.pop((mid + 1, hi)), text.pop((lo, mid))
        left, right = (s if a == b else f"({s})" for s, a, b in ((left, mid + 1, hi), (right, lo, mid)))
        text[(lo, hi)] = f"{left} @ {right}"
    return text.popitem()[1] if plan.splits else "m[0].copy()"


def public_api_overhead(shapes: Mapping[str, tuple[int, ...]], *, strategy: str = "optimal", seconds: float = 4.0,
                        min_rounds: int = 41, seed=0, timer: Callable[[], float] = time.perf_counter) -> list[dict]:
    """Median seconds per call of ``multiply``, ``execute`` and the bare ``@`` tree, per shape, and their ratios.

    For each chain, random Jacobians (float64) are built once; the three
    calls run on the same arrays, **call by call**: each round calls each
    of the three once, alone under the clock, in a balanced order
    (:func:`~chainopt.bench.harness.balanced_orders`: each follows each
    equally often), for ``seconds`` per shape and at least ``min_rounds``
    rounds. So every call runs as in a user's loop, right after a call that
    streamed the same matrices, and its fixed cost is paid with the caches
    as that leaves them; pairing the three calls of a round cancels any
    drift slower than a few calls. ``execute`` gets the plan planned once
    outside the loop, as a user would hold it.

    (Timing blocks of many calls of one function instead, as the strategy
    benchmark does, was too coarse for a 10% target: in ``reports/bench.md``
    as committed in b28ee74, ``multiply`` and ``execute``, the same compiled
    code, measured 1.02x and 1.10x on the hourglass.)

    Parameters
    ----------
    shapes : mapping of str to dims
        Name -> dims, input first (e.g. the six reference shapes of
        ``chainopt.experiments.bench_shapes.SHAPES``).
    strategy : str
        The strategy ``multiply`` is called with (and whose plan ``execute`` runs).
    seconds : float
        Time spent per shape (the three calls together).
    min_rounds : int
        Rounds run per shape even if they take longer.
    seed : int
    timer : callable
        The clock (default ``time.perf_counter``, wall time).

    Returns
    -------
    list of dict
        One per shape: ``shape``, ``dims``, ``plan``, ``rounds``, ``bare``,
        ``multiply``, ``execute`` (median seconds per call) and their
        interquartile ranges ``bare_iqr``, ...;
        ``multiply_ratio`` and ``execute_ratio``, the median over rounds of
        each call's time over the bare tree's in the same round, and
        ``multiply_ratio_iqr``, ``execute_ratio_iqr``, the interquartile range
        of those ratios.

    Raises
    ------
    ResultMismatchError
        If a public call does not give exactly the bare tree's product.

    Examples
    --------
    >>> rows = public_api_overhead({"tiny": (3, 4, 2)}, seconds=0.01, min_rounds=3)
    >>> rows[0]["plan"], rows[0]["rounds"] >= 3, sorted(k for k in rows[0] if "ratio" in k)
    ('A2 A1', True, ['execute_ratio', 'execute_ratio_iqr', 'multiply_ratio', 'multiply_ratio_iqr'])
    """
    rows = []
    for name, dims in shapes.items():
        mats = random_jacobians(dims, seed=seed)
        plan = cached_plan(tuple(dims), strategy)
        bare = eval(f"lambda m: {bare_expression(plan)}")  # generated from the plan's ints only
        funcs = {
            "bare": lambda bare=bare, mats=mats: bare(mats),
            "multiply": lambda mats=mats: multiply(mats, strategy),
            "execute": lambda plan=plan, mats=mats: execute(plan, mats),
        }
        reference = funcs["bare"]()
        for label in ("multiply", "execute"):
            if not np.array_equal(funcs[label](), reference):
                raise ResultMismatchError(f"{label} and the bare @ tree {bare_expression(plan)} differ on {name}")
        times = _call_by_call(funcs, seconds, min_rounds, timer)
        row = {"shape": name, "dims": tuple(dims), "plan": str(plan), "rounds": len(times["bare"])}
        row |= {label: statistics.median(ts) for label, ts in times.items()}
        row |= {f"{label}_iqr": _quartiles(sorted(ts)) for label, ts in times.items()}
        for label in ("multiply", "execute"):
            ratios = sorted(t / b for t, b in zip(times[label], times["bare"]))  # paired: the same round
            row[f"{label}_ratio"] = statistics.median(ratios)
            row[f"{label}_ratio_iqr"] = _quartiles(ratios)
        rows.append(row)
    return rows


def _call_by_call(funcs: Mapping[str, Callable[[], object]], seconds: float, min_rounds: int,
                  timer: Callable[[], float]) -> dict[str, list[float]]:
    """Seconds of every single call, per name: rounds of one call each, in balanced orders, for ``seconds``."""
    names = list(funcs)
    calls = [funcs[name] for name in names]
    orders = balanced_orders(len(calls))
    times: list[list[float]] = [[] for _ in calls]
    for call in calls:  # warm-up, untimed
        call()
    deadline = timer() + seconds
    rounds = 0
    while rounds < min_rounds or timer() < deadline:
        for i in orders[rounds % len(orders)]:
            start = timer()
            calls[i]()
            times[i].append(timer() - start)
        rounds += 1
    return dict(zip(names, times))


def overhead_section(rows: list[dict]) -> list[str]:
    """Markdown lines for a report: the one-call API's time over the bare ``@`` tree, per shape, and the verdict.

    Examples
    --------
    >>> rows = [{"shape": "s", "dims": (3, 4, 2), "plan": "A2 A1", "bare": 1e-6, "multiply": 1.05e-6,
    ...          "execute": 1.02e-6, "multiply_ratio": 1.05, "multiply_ratio_iqr": (1.04, 1.06),
    ...          "execute_ratio": 1.02, "execute_ratio_iqr": (1.01, 1.03)}]
    >>> overhead_section(rows)[2]
    '- target: `multiply` and `execute` at most 10% over the bare tree: **met** (1 of 1 shapes)'
    """
    from chainopt.report.render import markdown_table

    met = [r for r in rows if max(r["multiply_ratio"], r["execute_ratio"]) <= 1 + OVERHEAD_TARGET]
    table = [{
        "shape": r["shape"], "dims": " ".join(map(str, r["dims"])), "plan": r["plan"],
        "bare @ ms [IQR]": f"{1e3 * r['bare']:.3f}" + (
            f" [{1e3 * r['bare_iqr'][0]:.3f}, {1e3 * r['bare_iqr'][1]:.3f}]" if "bare_iqr" in r else ""),
        "multiply / bare [IQR]": f"{r['multiply_ratio']:.3f} [{r['multiply_ratio_iqr'][0]:.3f}, "
                                 f"{r['multiply_ratio_iqr'][1]:.3f}]",
        "execute / bare [IQR]": f"{r['execute_ratio']:.3f} [{r['execute_ratio_iqr'][0]:.3f}, "
                                f"{r['execute_ratio_iqr'][1]:.3f}]",
    } for r in rows]
    verdict = "met" if len(met) == len(rows) else "not met"
    return [
        "## The one-call API: `co.multiply(mats, \"optimal\")` and `co.execute(plan, mats)` vs a bare `@` tree",
        "",
        f"- target: `multiply` and `execute` at most {100 * OVERHEAD_TARGET:.0f}% over the bare tree: "
        f"**{verdict}** ({len(met)} of {len(rows)} shapes)",
        "- each call as a user makes it (planning from the cache, shape checks, finiteness checked on the "
        "result), against the same products written as one `@` expression, on the same arrays; timed call by "
        "call, the three interleaved in balanced orders, so each runs right after a call that streamed the "
        "same matrices, as in a user's loop" + _rounds(rows) + "; ratios paired within each round, median and "
        "interquartile range",
        "",
        markdown_table(table),
        "",
    ]


def _rounds(rows: list[dict]) -> str:
    counts = [r["rounds"] for r in rows if "rounds" in r]
    return f" ({min(counts):,} to {max(counts):,} rounds per shape)" if counts else ""


def _quartiles(values: list[float]) -> tuple[float, float]:
    """The first and third quartiles (the interquartile range's ends) of at least one value."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]

"""What the JAX and PyTorch front ends share: stages, options, the plan report, the executor.

A front end turns a stack of stages ``f_q o ... o f_1`` into the factors of a
generalized Jacobian chain (:class:`~chainopt.core.factors.Factor`), plans
them with :func:`chainopt.plan`, and runs the plan with the framework's own
``jvp``/``vjp`` through a **provider** (the framework half). This module
holds the framework-free half: :class:`Stage` (a stage with declared
structure), option checks, :class:`FrameworkPlan` (the plan and its report)
(the executor is :mod:`chainopt.frontends.executor`).

Every stage's input and output are flattened to vectors (pytrees leaf by
leaf, arrays in C order), so the Jacobian is 2-D: ``(n_out, n_in)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.factors import Factor
from chainopt.core.plan import Plan
from chainopt.core.strategies import plan as make_plan
from chainopt.errors import ChainoptError, MemoryBudgetError
from chainopt.report.render import Column, Document, Table, render

__all__ = [
    "STRATEGIES", "COSTS", "Stage", "elementwise", "as_stages", "check_options", "madds_from_flops",
    "StageInfo", "FrameworkPlan", "looks_diagonal", "median_seconds", "shape_text", "time_madds",
]

#: The strategies a front end accepts.
STRATEGIES = ("optimal", "fwd", "bwd", "preaccumulate")
#: How a stage's tangent and adjoint costs are found: the framework's flop count, or timing.
COSTS = ("flops", "time")


@dataclass(frozen=True)
class Stage:
    """A stage of a stack with its structure declared.

    Parameters
    ----------
    fn : callable
        The stage: its input is the previous stage's output.
    diagonal : bool or None
        ``True``: the stage is elementwise (its Jacobian is diagonal);
        ``False``: it is not (no probing); ``None``: probe it.
    name : str or None
        How the report names it (default: the function's name).

    Examples
    --------
    >>> Stage(abs, diagonal=True).label
    'abs'
    """

    fn: Callable
    diagonal: bool | None = None
    name: str | None = None

    def __post_init__(self):
        if not callable(self.fn):
            raise ChainoptError(f"a stage must be callable, got {type(self.fn).__name__} {self.fn!r}")
        if self.diagonal not in (None, True, False):
            raise ChainoptError(f"diagonal must be True, False or None (detect), got {self.diagonal!r}")

    @property
    def label(self) -> str:
        """The stage's name in reports."""
        if self.name:
            return self.name
        fn = self.fn
        name = getattr(fn, "__name__", None) or type(fn).__name__
        return "lambda" if name == "<lambda>" else name


def elementwise(fn: Callable, name: str | None = None) -> Stage:
    """Declare ``fn`` elementwise: a diagonal factor (checked by one probe with random directions).

    Examples
    --------
    >>> elementwise(abs).diagonal
    True
    """
    return Stage(fn, diagonal=True, name=name)


def as_stages(stages) -> tuple[Stage, ...]:
    """``stages`` (callables or :class:`Stage`) as a tuple of :class:`Stage`; a clear error otherwise.

    Examples
    --------
    >>> [s.label for s in as_stages([abs, Stage(round, name="r")])]
    ['abs', 'r']
    >>> as_stages([])
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: a stack needs at least one stage, got none
    """
    if callable(stages) and not isinstance(stages, (list, tuple)):
        stages = [stages]
    if not isinstance(stages, (list, tuple)):
        raise ChainoptError(f"stages must be a list of callables, got {type(stages).__name__} {stages!r}")
    if not stages:
        raise ChainoptError("a stack needs at least one stage, got none")
    out = []
    for k, s in enumerate(stages, start=1):
        if isinstance(s, Stage):
            out.append(s)
        elif callable(s):
            out.append(Stage(s))
        else:
            raise ChainoptError(f"stage {k} is {type(s).__name__} {s!r}; every stage must be callable")
    return tuple(out)


def check_options(strategy: str, memory_limit, costs: str) -> str:
    """Validate the options of ``jacobian``/``plan`` before any work; return the strategy's name in lower case.

    Examples
    --------
    >>> check_options("fastest", None, "flops")
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: unknown strategy 'fastest'; choose one of: optimal, fwd, bwd, preaccumulate
    """
    name = strategy.lower() if isinstance(strategy, str) else strategy
    if name not in STRATEGIES:
        raise ChainoptError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if memory_limit is not None and (isinstance(memory_limit, bool) or not isinstance(memory_limit, int)
                                     or memory_limit < 0):
        raise ChainoptError(f"memory_limit is {memory_limit!r}; it must be a non-negative int (tape entries) or None")
    if costs not in COSTS:
        raise ChainoptError(f"unknown costs {costs!r}; choose one of: {', '.join(COSTS)}")
    return name


def madds_from_flops(flops) -> int:
    """Multiply-adds from a flop count: two flops make one multiply-add (rounded up).

    Examples
    --------
    >>> madds_from_flops(200000.0), madds_from_flops(3), madds_from_flops(0)
    (100000, 2, 0)
    """
    flops = int(round(float(flops)))
    return max(0, (flops + 1) // 2)


def median_seconds(run: Callable[[], object], repeats: int = 5) -> float:
    """The median wall time of ``run()`` (which must wait for its result), after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def looks_diagonal(images: np.ndarray, directions: np.ndarray, *, rtol: float) -> bool:
    """Whether a square Jacobian is diagonal, from its images of a few directions.

    ``directions`` is ``(n, c)``, its first column all ones; ``images`` is
    ``J @ directions``. A diagonal ``J`` is ``diag(d)`` with ``d = J 1``, so
    every image must equal ``d * direction``; random directions make a
    non-diagonal ``J`` fail this with probability one.

    Examples
    --------
    >>> u = np.array([[1.0, 0.3], [1.0, -2.0]])
    >>> looks_diagonal(np.diag([2.0, 3.0]) @ u, u, rtol=1e-12), looks_diagonal(np.ones((2, 2)) @ u, u, rtol=1e-12)
    (True, False)
    """
    d = images[:, :1]
    expected = d * directions
    scale = max(float(np.max(np.abs(images))), float(np.max(np.abs(expected))), np.finfo(float).tiny)
    return bool(np.max(np.abs(images - expected)) <= rtol * scale)


@dataclass(frozen=True)
class StageInfo:
    """One stage as planned: its name, shapes and factor, and how its costs were found.

    Attributes
    ----------
    name : str
    in_shape, out_shape : str
        The shapes before flattening (a pytree's leaves joined by ``+``).
    factor : Factor
    source : str
        ``'flops'``, ``'time'`` or ``'counted'`` (a matrix-product-free stage
        charged one multiply-add per entry); ``+ diagonal (declared)`` or
        ``(detected)`` when the stage is elementwise.
    """

    name: str
    in_shape: str
    out_shape: str
    factor: Factor
    source: str


@dataclass(frozen=True, eq=False)
class FrameworkPlan:
    """The plan for a stack of stages, and its report (``str()`` is the text view).

    Attributes
    ----------
    framework : str
        ``'jax'`` or ``'torch'``.
    stages : tuple of StageInfo
    factors : tuple of Factor
    plan : Plan
        The chosen strategy's plan (``plan.operations`` is what runs).
    strategy : str
    plans : dict of str to Plan
        ``fwd``, ``bwd``, ``preaccumulate``, ``optimal`` and the chosen one.
    """

    framework: str
    stages: tuple
    factors: tuple
    plan: Plan
    strategy: str
    plans: dict

    @classmethod
    def build(cls, framework: str, stages, strategy: str, memory_limit) -> FrameworkPlan:
        """Plan ``stages`` (their factors) with every compared strategy and keep ``strategy``'s.

        **Tie rule** for ``'optimal'``: when reverse mode (then forward mode)
        costs exactly as many multiply-adds as the DP's plan, the pure mode
        runs: one sweep, as ``jacrev`` (``jacfwd``) does it, and on the tied
        stacks measured (a ResNet of square blocks) both frameworks' reverse
        mode ran faster than their forward mode at equal flops.
        """
        factors = tuple(s.factor for s in stages)
        chosen = make_plan(list(factors), strategy, memory_limit=memory_limit)
        plans = {}
        for name in ("fwd", "bwd", "preaccumulate", "optimal"):
            try:
                plans[name] = chosen if name == strategy else make_plan(list(factors), name,
                                                                         memory_limit=memory_limit)
            except MemoryBudgetError:  # a compared pure mode may not fit the limit; the chosen one must
                plans[name] = None
        if strategy == "optimal":
            chosen = next((plans[m] for m in ("bwd", "fwd") if plans[m] and plans[m].cost <= chosen.cost), chosen)
        return cls(framework, tuple(stages), factors, chosen, strategy, plans)

    @property
    def cost(self) -> int:
        """Multiply-adds of the chosen plan (exact)."""
        return self.plan.cost

    def header(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs, laid out as ``chainopt cost`` lays out its header."""
        dims = self.plan.chain.dims
        best = self.plans["optimal"].cost
        inf = float("inf")
        fwd, bwd = (self.plans[m].cost if self.plans[m] else inf for m in ("fwd", "bwd"))
        better = "FWD" if fwd < bwd else "BWD" if bwd < fwd else "tie"

        def vs(cost):
            if cost == inf:
                return "(over the memory limit)"
            return f"{cost:,} ({cost / best:,.2f}x optimal)" if best else f"{cost:,}"

        n = len(self.factors)
        rows = [
            ("framework", self.framework),
            ("chain", f"{' -> '.join(map(str, dims))}  ({n} factor{'s' * (n != 1)}, flattened)"),
            ("Jacobian", f"{dims[-1]} x {dims[0]}"),
            ("FWD cost", vs(fwd) + "  (jacfwd)"),
            ("BWD cost", vs(bwd) + "  (jacrev)"),
            ("preaccumulate cost", vs(self.plans["preaccumulate"].cost if self.plans["preaccumulate"] else inf)),
            ("optimal cost", f"{best:,}"),
            ("better pure mode", better if better == "tie"
             else f"{better}, {max(fwd, bwd) / max(min(fwd, bwd), 1):,.2f}x cheaper than the other"),
            (f"{self.strategy} plan", str(self.plan) if len(str(self.plan)) <= 200 else "(long; see steps)"),
            *([(f"{self.strategy} cost", vs(self.plan.cost))] if self.strategy != "optimal" else []),
            ("peak memory", f"{self.plan.peak_memory:,} entries in intermediates"),
        ]
        if self.plan.memory_limit is not None:
            rows.append(("memory limit", f"{self.plan.memory_limit:,} tape entries"))
        return rows

    def stage_rows(self) -> list[dict]:
        """One dict per stage: its factor's sizes, costs and where they came from."""
        return [{"stage": k, "name": s.name, "shapes": f"{s.in_shape} -> {s.out_shape}",
                 "tangent": s.factor.tangent, "adjoint": s.factor.adjoint, "tape": s.factor.tape,
                 "source": s.source} for k, s in enumerate(self.stages, start=1)]

    def step_rows(self) -> list[dict]:
        """One dict per step of the chosen plan (as in ``chainopt cost``)."""
        rows, total = [], 0
        for s in self.plan.steps:
            total += s.cost
            rows.append({"step": s.index, "op": s.op + (f" ({s.mode})" if s.mode else ""),
                         "product": f"{s.left} @ {s.right}" if s.right else s.left,
                         "result": s.shape, "cost": s.cost, "cumulative": total})
        return rows

    def document(self) -> Document:
        """The report for :func:`chainopt.report.render.render`."""
        stage_cols = (Column("stage", fmt=str, align=">"), Column("name", align="<"), Column("shapes", align="<"),
                      Column("tangent", fmt=",", align=">"), Column("adjoint", fmt=",", align=">"),
                      Column("tape", fmt=",", align=">"), Column("source", align="<"))
        step_cols = (Column("step", fmt=str, align=">"), Column("op", align="<"), Column("product", align="<"),
                     Column("result", fmt=lambda r: f"{r[0]} x {r[1]}", align=">"),
                     Column("cost", "multiply-adds", fmt=",", align=">"), Column("cumulative", fmt=",", align=">"))
        steps = self.step_rows()
        return Document(
            header=self.header(),
            tables=[Table(self.stage_rows(), columns=stage_cols, title="stages (costs per direction)"),
                    Table(steps, columns=step_cols, title="steps")],
            csv=self.stage_rows(),
            data={"framework": self.framework, "dims": list(self.plan.chain.dims), "strategy": self.strategy,
                  "plan": str(self.plan), "cost": self.plan.cost,
                  "costs": {name: p.cost if p else None for name, p in self.plans.items()},
                  "stages": self.stage_rows(), "steps": [{**r, "result": list(r["result"])} for r in steps]},
        )

    def format(self, fmt: str = "text") -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        return render(self.document(), fmt)

    def __str__(self) -> str:
        return self.format("text")


def shape_text(shapes: Sequence[tuple]) -> str:
    """Leaf shapes as text: ``(3, 4)``, or ``(3,)+(2, 2)`` for a pytree, ``()`` for a scalar."""
    return "+".join(str(tuple(s)) for s in shapes) if shapes else "()"


def time_madds(seconds_per_direction: float, seconds_per_madd: float) -> int:
    """A measured time per direction as multiply-adds at the machine's matrix-product rate (at least 1)."""
    return max(1, int(math.ceil(seconds_per_direction / seconds_per_madd)))

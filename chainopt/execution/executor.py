"""Run plans on real arrays: one registry of executors, ``execute`` and ``multiply``.

The naive meaning of every function here is one line of numpy: the chain's
Jacobian is ``functools.reduce(np.matmul, written_order(mats))``, the written
product ``A_{N-1} @ ... @ A_1``. :func:`execute` computes the same product in
the order a :class:`~chainopt.Plan` chooses, with ``@`` (``np.matmul``), after
checking every input once, and frees each intermediate as soon as the step
consuming it has run, so its memory is the plan's ``peak_memory``.

Jacobians are passed in **layer order** ``[A_1, ..., A_{N-1}]`` (input side
first), ``A_k`` of shape ``(n_{k+1}, n_k)``.

:data:`EXECUTORS` maps every name ``multiply`` and the benchmark accept to
an :class:`Executor`: each planning strategy runs its plan with the loop
here; ``multi_dot`` (numpy's, which plans itself) is one more entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.chain import Chain, as_chain
from chainopt.core.memory import MemoryEstimate
from chainopt.core.plan import Plan
from chainopt.core.strategies import STRATEGIES, get_strategy
from chainopt.errors import ChainoptError, UnknownStrategyError
from chainopt.execution.budget import BUDGET_FLOOR, as_budget, check_memory
from chainopt.execution.cache import cached_plan
from chainopt.execution.compiled import array_signature, by_plan, by_strategy, remember
from chainopt.execution.generalized import execute_generalized
from chainopt.execution.validate import check_jacobians, check_result_finite, plain_arrays, written_order

__all__ = [
    "Executor",
    "EXECUTORS",
    "get_executor",
    "execute",
    "multiply",
    "multi_dot",
    "memory_estimate",
    "BASELINES",
    "MULTI_DOT_MAX_FACTORS",
]

#: The longest chain ``multi_dot`` is benchmarked on: numpy's multi_dot searches
#: the order again on every call, in pure Python and O(N^3) (about 1.6 s of
#: search per call at 300 factors here), so beyond this its time measures the
#: search, not the product.
MULTI_DOT_MAX_FACTORS = 100
#: Bytes of the widest numeric dtype (complex256): an upper bound of any chain's itemsize.
_WIDEST = 32


def _run(plan: Plan, arrays: list[np.ndarray]) -> np.ndarray:
    """The executor's loop: ``plan.splits`` in order, each intermediate dropped once consumed."""
    # Live intermediates are disjoint factor ranges, so each is keyed by its first factor.
    live: dict[int, np.ndarray] = {}
    for lo, mid, hi in plan.splits:
        right = live.pop(lo) if lo < mid else arrays[lo]
        left = live.pop(mid + 1) if mid + 1 < hi else arrays[hi]
        live[lo] = left @ right
        del left, right
    if not live:  # one factor: the Jacobian is A_1 itself
        return arrays[0].copy()
    return live.popitem()[1]


def execute(plan: Plan, mats: Sequence, *, check_finite: bool = True, budget: int | str | None = None,
            scheduler=None) -> np.ndarray:
    """The chain's Jacobian ``A_{N-1} @ ... @ A_1``, multiplied in the plan's order.

    The naive equivalent is ``functools.reduce(np.matmul, written_order(mats))``;
    this runs ``plan.splits`` with ``@`` instead, so the work is
    ``plan.cost`` multiply-adds. Before any product the number of factors,
    that each is a 2-D numeric array, each shape against ``plan.chain`` and
    the memory the intermediates need are checked. Finiteness is checked
    once, on the result (a NaN or infinity in any factor reaches the
    product); only a non-finite result makes it look for the factor to
    blame (see :func:`check_result_finite`). Inputs are not copied. The
    result dtype follows numpy's promotion (float32 stays float32; float32
    with float64 gives float64). A later call with the same plan object and
    arrays of the same types, shapes and dtypes runs the plan compiled to
    ``@`` statements at the first call, without checking again what cannot
    have changed (:mod:`chainopt.execution.compiled`).

    Parameters
    ----------
    plan : Plan
        From :func:`chainopt.core.plan`, :meth:`Plan.parse`, ...
    mats : sequence of array_like
        ``[A_1, ..., A_{N-1}]`` in layer order, ``A_k`` of shape ``(n_{k+1}, n_k)``.
    check_finite : bool
        Refuse NaN or infinite entries (``False`` lets them propagate).
    budget : int, str or None
        Bytes the intermediates may use (``"2G"`` works too); ``None`` for the
        default budget (see :func:`check_memory`).
    scheduler : None, str or distributed.Client
        ``None`` (the default) runs the plan here, one product after the
        other. A Dask scheduler, ``"sync"``, ``"threads"``, ``"processes"``
        or a ``distributed.Client``, runs it as a Dask task graph with
        :func:`chainopt.execution.dask.execute_dask` (independent products at
        the same time); that needs the ``dask`` extra (``pip install
        "chainopt[dask]"``).

    Returns
    -------
    numpy.ndarray
        The ``(n_N, n_1)`` Jacobian, a new array (never one of the inputs).

    Raises
    ------
    ShapeError, NonFiniteError, MemoryBudgetError
    ChainoptError
        For a scheduler without Dask installed, naming the extra.

    Examples
    --------
    >>> import functools
    >>> import chainopt as co
    >>> mats = co.random_jacobians([100, 1000, 10, 1000, 100], seed=0)
    >>> p = co.plan([100, 1000, 10, 1000, 100], "optimal")
    >>> str(p), p.cost
    ('(A4 A3) (A2 A1)', 2100000)
    >>> J = co.execute(p, mats)
    >>> J.shape, np.allclose(J, functools.reduce(np.matmul, written_order(mats)))
    ((100, 100), True)
    """
    if budget is None and scheduler is None and (type(mats) is list or type(mats) is tuple):
        try:  # the fast path: this very plan, these shapes and dtypes were checked and compiled before
            entry = by_plan.get((id(plan), check_finite, *map(array_signature, mats)))
        except (AttributeError, TypeError):  # not arrays, or unhashable: the full path says what is wrong
            entry = None
        if entry is not None and entry[0] is plan:  # the entry holds the plan: its id is not a reused one
            return entry[1](mats)
    if not isinstance(plan, Plan):
        raise ChainoptError(
            f"execute needs a Plan (e.g. chainopt.core.plan(dims, 'optimal')), got {type(plan).__name__} "
            f"{_short(plan)}; to multiply by strategy name use chainopt.multiply(mats, 'optimal')"
        )
    budget = None if budget is None else as_budget(budget)
    if scheduler is not None:
        return _on_dask(plan, mats, scheduler, check_finite)
    if plan.factors is not None:  # a generalized plan (ACC/TAN/ADJ, diagonal factors): run it on the matrices
        return execute_generalized(plan, mats, check_finite=check_finite, budget=budget)
    plain = plain_arrays(mats)
    if plain is not None and plain[0] == plan.chain.dims:
        if budget is None and (run := remember(plan, plain[1], check_finite, budget_floor=BUDGET_FLOOR)):
            return run(plain[1])
        return _execute_arrays(plan, plain[1], check_finite, budget)
    arrays = check_jacobians(plan.chain, mats, check_finite=check_finite)  # converts, and names what is wrong
    return _execute_arrays(plan, arrays, False, budget)


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)"


def _on_dask(plan: Plan, mats, scheduler, check_finite: bool) -> np.ndarray:
    try:
        importlib.import_module("dask")  # the optional extra, imported only when a scheduler is asked for
    except ImportError:
        raise ChainoptError(
            f"scheduler={_short(scheduler)} runs the plan on Dask, which is not installed: "
            'pip install "chainopt[dask]" (or leave scheduler=None to run it here)'
        ) from None
    from chainopt.execution.dask import execute_dask

    return execute_dask(plan, mats, scheduler=scheduler, check_finite=check_finite)


def _execute_arrays(plan: Plan, arrays: list, check_finite: bool, budget: int | None) -> np.ndarray:
    """Run a plan on arrays whose shapes are checked: the memory check, the loop, finiteness of the result."""
    limit = BUDGET_FLOOR if budget is None else budget
    if plan.peak_memory * _WIDEST > limit:  # the common case skips the dtypes and the full check
        itemsize = np.result_type(*arrays).itemsize  # numpy's promotion
        needed = plan.peak_memory * itemsize
        check_memory(
            MemoryEstimate(inputs=0, intermediates=needed, itemsize=itemsize),
            budget,
            what=f"executing {plan}" if len(str(plan)) <= 60 else "executing this plan",
        )
    if not check_finite:
        return _run(plan, arrays)
    with np.errstate(invalid="ignore"):  # a non-finite factor is refused by name; an overflow still warns
        return check_result_finite(_run(plan, arrays), arrays)


def _multi_dot_unchecked(arrays: list) -> np.ndarray:
    return arrays[0].copy() if len(arrays) == 1 else np.linalg.multi_dot(written_order(arrays))


def multi_dot(*args, layers: Sequence | None = None, check_finite: bool = True) -> np.ndarray:
    """NumPy's ``multi_dot`` on Jacobians given in **layer order**, by keyword: ``multi_dot(layers=mats)``.

    ``numpy.linalg.multi_dot(arrays)`` takes the factors in written order
    ``[A_{N-1}, ..., A_1]``; chainopt takes them in layer order
    ``[A_1, ..., A_{N-1}]``. On a square chain both calls would run and
    silently give different products, so this one takes its factors only by
    the keyword ``layers``: a positional call is refused with a message
    naming both orders. The naive equivalent is
    ``numpy.linalg.multi_dot(written_order(layers))``.

    numpy picks an optimal order itself and multiplies with ``np.dot``. It
    is an execution baseline, not a plan: it is not in ``STRATEGIES``. Its
    time includes numpy's search for the order, repeated on every call in
    pure Python (O(N^3); see :data:`MULTI_DOT_MAX_FACTORS`).

    Raises
    ------
    ChainoptError
        For positional arguments (the order would be ambiguous), or no ``layers``.

    Examples
    --------
    >>> a1, a2 = np.full((3, 2), 1.0), np.full((1, 3), 2.0)   # A_1 : R^2 -> R^3, A_2 : R^3 -> R^1
    >>> multi_dot(layers=[a1, a2])
    array([[6., 6.]])
    >>> np.linalg.multi_dot([a2, a1])   # numpy's: written order
    array([[6., 6.]])
    >>> multi_dot([a1, a2])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: chainopt.multi_dot takes the Jacobians by keyword, in layer order (input side
        first): multi_dot(layers=[A_1, ..., A_N]); numpy.linalg.multi_dot takes the written order [A_N, ..., A_1],
        so a positional list is refused rather than guessed
    """
    if args or layers is None:
        raise ChainoptError(
            "chainopt.multi_dot takes the Jacobians by keyword, in layer order (input side first): "
            "multi_dot(layers=[A_1, ..., A_N]); numpy.linalg.multi_dot takes the written order [A_N, ..., A_1], "
            "so a positional list is refused rather than guessed"
        )
    mats = list(layers)  # a generator would be used up by the shape check
    arrays = check_jacobians(Chain.from_jacobians(mats), mats, check_finite=check_finite)
    return _multi_dot_unchecked(arrays)


def multiply(mats: Sequence, strategy: str = "optimal", *, check_finite: bool = True) -> np.ndarray:
    """The product ``A_{N-1} @ ... @ A_1`` of Jacobians in layer order, by a strategy's name or ``'multi_dot'``.

    The one-call API: plan (once per dims: plans are cached, see
    :func:`chainopt.execution.cache.cached_plan`), then :func:`execute`. The
    first call on arrays of some types, shapes and dtypes checks everything
    and compiles the plan to ``@`` statements; later calls with the same
    strategy and signature run that function after one dictionary lookup (no
    copies; finiteness checked on the result; see
    :mod:`chainopt.execution.compiled`).

    Examples
    --------
    >>> mats = [np.full((3, 2), 1.0), np.full((1, 3), 2.0)]
    >>> multiply(mats, "bwd")
    array([[6., 6.]])
    """
    if type(mats) is list or type(mats) is tuple:
        try:  # the fast path: these very shapes and dtypes were checked, planned and compiled before
            run = by_strategy.get((strategy, check_finite, *map(array_signature, mats)))
        except (AttributeError, TypeError):  # not arrays, or an unhashable strategy: the full path says what
            run = None
        if run is not None:
            return run(mats)
    mats = list(mats)  # a generator would be used up by the shape check
    executor = get_executor(strategy)
    if executor.plan is not None:
        plain = plain_arrays(mats)
        if plain is not None:
            plan = cached_plan(plain[0], executor.name)
            if run := remember(plan, plain[1], check_finite, strategy=strategy, budget_floor=BUDGET_FLOOR):
                return run(plain[1])
            return _execute_arrays(plan, plain[1], check_finite, None)
        chain = Chain.from_jacobians(mats)
        return execute(cached_plan(chain.dims, executor.name), mats, check_finite=check_finite)
    chain = Chain.from_jacobians(mats)
    return executor.run(chain, check_jacobians(chain, mats, check_finite=check_finite))


@dataclass(frozen=True)
class Executor:
    """One way of computing a chain's product, by name.

    Attributes
    ----------
    name : str
        The name ``multiply`` and the benchmark accept.
    plan : callable or None
        ``plan(chain) -> Plan`` for planning strategies; ``None`` for an
        executor that orders the product itself (``multi_dot``).
    run : callable
        ``run(chain, arrays) -> ndarray`` on checked arrays (layer order).
    peak_entries : callable
        ``peak_entries(chain) -> int``: matrix entries its intermediates hold
        at the worst moment.
    max_factors : int or None
        The longest chain it is benchmarked on (``None``: any).
    """

    name: str
    plan: Callable[[Chain], Plan] | None
    run: Callable[[Chain, list], np.ndarray]
    peak_entries: Callable[[Chain], int]
    max_factors: int | None = None


def _planned(name: str) -> Executor:
    strategy = STRATEGIES[name]
    return Executor(
        name=name,
        plan=strategy,
        run=lambda chain, arrays: _run(strategy(chain), arrays),
        peak_entries=lambda chain: strategy(chain).peak_memory,
    )


def _multi_dot_peak(chain: Chain) -> int:
    # numpy's multi_dot runs an optimal order but computes the output side of each
    # product first; bound it by every intermediate of the optimal tree at once.
    return sum(s.shape[0] * s.shape[1] for s in get_strategy("optimal")(chain).steps)


#: Strategies that matter for factors known by their tangents and adjoints: on formed Jacobians
#: "preaccumulate" plans what "optimal" plans; they are listed after the baselines.
FACTOR_STRATEGIES = ("preaccumulate", "hu_shing")

#: Every executor by name: the planning strategies, the baselines, then the factor strategies.
EXECUTORS: dict[str, Executor] = {name: _planned(name) for name in STRATEGIES if name not in FACTOR_STRATEGIES}
EXECUTORS["multi_dot"] = Executor(
    name="multi_dot",
    plan=None,
    run=lambda chain, arrays: _multi_dot_unchecked(arrays),
    peak_entries=_multi_dot_peak,
    max_factors=MULTI_DOT_MAX_FACTORS,
)
EXECUTORS.update((name, _planned(name)) for name in FACTOR_STRATEGIES)

#: Execution-only names: run, timed and checked, but not plans (not in ``STRATEGIES``).
BASELINES = tuple(name for name, ex in EXECUTORS.items() if ex.plan is None)


def get_executor(name) -> Executor:
    """The executor registered as ``name`` (any case: ``'FWD'`` is ``'fwd'``); an unknown name lists the valid ones."""
    try:
        return EXECUTORS[name.lower()]
    except (KeyError, TypeError, AttributeError):
        raise UnknownStrategyError(f"unknown strategy {name!r}; choose one of: {', '.join(EXECUTORS)}") from None


def memory_estimate(chain, *, dtype=np.float64, strategies: Sequence[str] = ("optimal",), inputs: bool = True):
    """The bytes needed to hold a chain's Jacobians and run the given strategies on them.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims, input first.
    dtype : numpy dtype
        The entries' dtype (its itemsize is what counts).
    strategies : str or sequence of str
        Strategies (or ``'multi_dot'``) that will run; the largest peak counts,
        since they run one after the other.
    inputs : bool
        Count the input Jacobians (``False`` when they already exist).

    Returns
    -------
    MemoryEstimate

    Examples
    --------
    >>> est = memory_estimate([100, 1000, 10, 1000, 100], strategies=["optimal"])
    >>> est.inputs, est.intermediates, est.total
    (1760000, 96000, 1856000)
    """
    chain = as_chain(chain)
    if isinstance(strategies, str):  # one name, not its letters
        strategies = [strategies]
    itemsize = np.dtype(dtype).itemsize
    d = chain.dims
    n_inputs = sum(a * b for a, b in zip(d[:-1], d[1:])) if inputs else 0
    peak = max((get_executor(s).peak_entries(chain) for s in strategies), default=0)
    return MemoryEstimate(inputs=n_inputs * itemsize, intermediates=peak * itemsize, itemsize=itemsize)



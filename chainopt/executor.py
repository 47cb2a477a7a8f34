"""Run plans on real arrays: validation, the memory guard, and the executor.

The naive meaning of every function here is one line of numpy: the chain's
Jacobian is ``functools.reduce(np.matmul, written_order(mats))``, the written
product ``A_{N-1} @ ... @ A_1``. :func:`execute` computes the same product in
the order a :class:`~chainopt.Plan` chooses, with ``@`` (``np.matmul``), after
checking every input once, and frees each intermediate as soon as the step
consuming it has run, so its memory is the plan's ``peak_memory``.

Jacobians are passed in **layer order** ``[A_1, ..., A_{N-1}]`` (input side
first), ``A_k`` of shape ``(n_{k+1}, n_k)``. :func:`written_order` is the one
place that converts to the written order numpy's ``multi_dot`` takes.

Memory is guarded in one place, :func:`memory_estimate` and
:func:`check_memory`: :func:`random_jacobians` refuses before allocating
anything and :func:`execute` refuses before multiplying.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.chain import Chain, as_chain
from chainopt.errors import ChainoptError, MemoryBudgetError, NonFiniteError, ShapeError, UnknownStrategyError
from chainopt.plan import Plan
from chainopt.strategies import STRATEGIES, get_strategy

__all__ = [
    "seeded_rng",
    "execute",
    "multiply",
    "multi_dot",
    "written_order",
    "check_jacobians",
    "random_jacobians",
    "MemoryEstimate",
    "memory_estimate",
    "check_memory",
    "available_memory",
    "default_budget",
    "BASELINES",
    "BUDGET_FRACTION",
    "BUDGET_FLOOR",
]

#: Execution-only strategies: run, timed and checked, but not plans (not in ``STRATEGIES``).
BASELINES = ("multi_dot",)

#: The longest chain ``multi_dot`` is benchmarked on: numpy's multi_dot searches
#: the order again on every call, in pure Python and O(N^3) (about 1.6 s of
#: search per call at 300 factors here), so beyond this its time measures the
#: search, not the product.
MULTI_DOT_MAX_FACTORS = 100

#: The default memory budget is this fraction of the machine's available memory.
BUDGET_FRACTION = 0.5

#: Work needing at most this many bytes is never refused by the default budget
#: (so small products do not pay for reading ``/proc/meminfo``).
BUDGET_FLOOR = 64 * 2**20

#: Budget assumed when the available memory cannot be read (1 GiB).
FALLBACK_AVAILABLE = 2**30

_KINDS = {"i": "integer", "u": "unsigned integer", "f": "floating", "c": "complex"}


# -- layer order and written order -----------------------------------------------


def written_order(mats: Sequence) -> list:
    """The factors in written order ``[A_{N-1}, ..., A_1]`` from layer order ``[A_1, ..., A_{N-1}]``.

    chainopt passes Jacobians in layer order, the order a network computes
    them; numpy's ``multi_dot`` and the product as written in mathematics go
    the other way. This is the only conversion between the two.

    Examples
    --------
    >>> a1, a2 = np.ones((3, 2)), np.ones((4, 3))   # layer order: A_1 then A_2
    >>> [m.shape for m in written_order([a1, a2])]
    [(4, 3), (3, 2)]
    """
    return list(mats)[::-1]


# -- memory ------------------------------------------------------------------------


def available_memory() -> tuple[int, str]:
    """The machine's available memory in bytes, and where the figure came from.

    Reads ``MemAvailable`` from ``/proc/meminfo`` (Linux); elsewhere uses
    ``os.sysconf`` free pages; if neither works, assumes 1 GiB.

    Examples
    --------
    >>> nbytes, source = available_memory()
    >>> nbytes > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "/proc/meminfo MemAvailable"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "sysconf free pages"
    except (AttributeError, OSError, ValueError):
        return FALLBACK_AVAILABLE, "unknown (assumed 1 GiB)"


def default_budget() -> int:
    """The default memory budget in bytes: ``BUDGET_FRACTION`` of :func:`available_memory`."""
    return int(available_memory()[0] * BUDGET_FRACTION)


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a computation on a chain needs, before anything is allocated.

    Attributes
    ----------
    inputs : int
        Bytes of the Jacobians themselves (0 when they already exist).
    intermediates : int
        Bytes of the intermediate products alive at once at the worst moment
        (the plan's ``peak_memory`` entries, the result included).
    itemsize : int
        Bytes per entry.
    """

    inputs: int
    intermediates: int
    itemsize: int

    @property
    def total(self) -> int:
        """``inputs + intermediates``."""
        return self.inputs + self.intermediates


def _peak_entries(chain: Chain, strategy: str) -> int:
    """Entries in intermediates at the worst moment for a named strategy or baseline."""
    if strategy == "multi_dot":
        # numpy's multi_dot runs an optimal order but computes the output side of each
        # product first; bound it by every intermediate of the optimal tree at once.
        return sum(s.shape[0] * s.shape[1] for s in get_strategy("optimal")(chain).steps)
    return get_strategy(strategy)(chain).peak_memory


def memory_estimate(chain, *, dtype=np.float64, strategies: Sequence[str] = ("optimal",), inputs: bool = True):
    """The bytes needed to hold a chain's Jacobians and run the given strategies on them.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims, input first.
    dtype : numpy dtype
        The entries' dtype (its itemsize is what counts).
    strategies : sequence of str
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
    itemsize = np.dtype(dtype).itemsize
    d = chain.dims
    n_inputs = sum(a * b for a, b in zip(d[:-1], d[1:])) if inputs else 0
    peak = max((_peak_entries(chain, s) for s in strategies), default=0)
    return MemoryEstimate(inputs=n_inputs * itemsize, intermediates=peak * itemsize, itemsize=itemsize)


def _human(n: int) -> str:
    """``n`` bytes in the largest binary unit below it, e.g. ``'74.5 GiB'``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def check_memory(estimate: MemoryEstimate, budget: int | None = None, *, what: str = "this computation") -> None:
    """Refuse work whose :class:`MemoryEstimate` exceeds the budget.

    Parameters
    ----------
    estimate : MemoryEstimate
    budget : int or None
        Bytes allowed. ``None``: :func:`default_budget`, consulted only when
        the estimate exceeds ``BUDGET_FLOOR`` (64 MiB).
    what : str
        Names the work in the error message.

    Raises
    ------
    MemoryBudgetError
        Saying how many bytes were needed and how many are allowed.

    Examples
    --------
    >>> check_memory(MemoryEstimate(inputs=800, intermediates=80, itemsize=8), budget=1000)
    >>> check_memory(MemoryEstimate(inputs=800, intermediates=800, itemsize=8), budget=1000)
    Traceback (most recent call last):
    ...
    chainopt.errors.MemoryBudgetError: this computation would need 1,600 bytes (1.6 KiB: 800 for the inputs + 800 for intermediates) but the budget allows 1,000 bytes (1000 B)
    """
    needed = estimate.total
    if budget is None:
        if needed <= BUDGET_FLOOR:
            return
        available, source = available_memory()
        budget = int(available * BUDGET_FRACTION)
        origin = f", {BUDGET_FRACTION:g} of the {_human(available)} available per {source}"
    else:
        origin = ""
    if needed > budget:
        raise MemoryBudgetError(
            f"{what} would need {needed:,} bytes ({_human(needed)}: {estimate.inputs:,} for the inputs + "
            f"{estimate.intermediates:,} for intermediates) but the budget allows {budget:,} bytes "
            f"({_human(budget)}{origin})"
        )


# -- validation --------------------------------------------------------------------


def _describe_nonfinite(a: np.ndarray) -> str:
    bad = ~np.isfinite(a)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    first = a[index].item()
    return f"{int(bad.sum()):,} non-finite entr{'y' if bad.sum() == 1 else 'ies'}, the first {first} at {index}"


def _all_finite(a: np.ndarray) -> bool:
    """Whether every entry is finite; a sum is the fast test, the elementwise test confirms."""
    if a.dtype.kind in "iu":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return True
    return bool(np.isfinite(a).all())  # the sum may have overflowed on finite entries


def check_jacobians(chain, mats: Sequence, *, check_finite: bool = True) -> list[np.ndarray]:
    """Validate Jacobians in layer order against a chain; return them as arrays.

    Accepted entries are integer, floating or complex numbers. Integer arrays
    are returned as float64 copies: ``@`` on fixed-width integers wraps
    around silently (two int8 factors of 100s give 48, not 30000). Booleans
    are refused: ``@`` on bool arrays computes logical or-of-ands, not sums of
    products. Object, string, bytes and date arrays are refused too.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims the Jacobians must have, input first.
    mats : sequence of array_like
        ``[A_1, ..., A_{N-1}]``, ``A_k`` of shape ``(n_{k+1}, n_k)``.
    check_finite : bool
        Refuse NaN and infinite entries.

    Raises
    ------
    ShapeError
        For the wrong number of factors, an array that is not 2-D, a
        non-numeric dtype, or a shape that does not match the chain.
    NonFiniteError
        For a NaN or infinity when ``check_finite`` is true.

    Examples
    --------
    >>> check_jacobians([2, 6, 5], [np.ones((6, 2)), np.ones((5, 7))])
    Traceback (most recent call last):
    ...
    chainopt.errors.ShapeError: A_2 has shape (5, 7) but the chain 2 -> 6 -> 5 needs (5, 6)
    """
    chain = as_chain(chain)
    if isinstance(mats, np.ndarray) and mats.ndim != 1:
        raise ShapeError(
            f"expected a sequence of {chain.n_factors} Jacobians in layer order, got one array of "
            f"shape {mats.shape}; pass a list [A_1, ..., A_{chain.n_factors}]"
        )
    try:
        mats = list(mats)
    except TypeError:
        raise ShapeError(
            f"expected a sequence of {chain.n_factors} Jacobians in layer order, got {type(mats).__name__} {mats!r}"
        ) from None
    if len(mats) != chain.n_factors:
        raise ShapeError(
            f"got {len(mats)} Jacobian{'s' * (len(mats) != 1)} but the chain {chain} has "
            f"{chain.n_factors} factor{'s' * (chain.n_factors != 1)} (A_1..A_{chain.n_factors}, layer order)"
        )
    arrays = []
    dims = chain.dims
    for k, m in enumerate(mats, start=1):
        a = m if type(m) is np.ndarray else np.asarray(m)
        if a.dtype.kind not in _KINDS:
            why = "bool (@ on bools is logical, not arithmetic)" if a.dtype.kind == "b" else str(a.dtype)
            raise ShapeError(
                f"A_{k} has dtype {why}; Jacobians must hold integer, floating or complex numbers"
            )
        if a.ndim != 2:
            raise ShapeError(
                f"A_{k} is a {a.ndim}-D array of shape {a.shape}; Jacobians must be 2-D, "
                f"A_{k} of shape {chain.factor_shape(k)}"
            )
        if a.shape != (dims[k], dims[k - 1]):
            raise ShapeError(f"A_{k} has shape {a.shape} but the chain {chain} needs {chain.factor_shape(k)}")
        arrays.append(a.astype(np.float64) if a.dtype.kind in "iu" else a)
    if check_finite:
        for k, a in enumerate(arrays, start=1):
            if not _all_finite(a):
                raise NonFiniteError(
                    f"A_{k} has {_describe_nonfinite(a)}; pass check_finite=False to let them propagate"
                )
    return arrays


# -- execution ---------------------------------------------------------------------


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


def execute(plan: Plan, mats: Sequence, *, check_finite: bool = True, budget: int | None = None) -> np.ndarray:
    """The chain's Jacobian ``A_{N-1} @ ... @ A_1``, multiplied in the plan's order.

    The naive equivalent is ``functools.reduce(np.matmul, written_order(mats))``;
    this runs ``plan.splits`` with ``@`` instead, so the work is
    ``plan.cost`` multiply-adds. Everything is checked before any product:
    the number of factors, that each is a 2-D numeric array, each shape
    against ``plan.chain``, finiteness (unless ``check_finite=False``) and
    the memory the intermediates need. The result dtype follows numpy's
    promotion (float32 stays float32; float32 with float64 gives float64).

    Parameters
    ----------
    plan : Plan
        From :func:`chainopt.plan`, :meth:`Plan.parse`, ...
    mats : sequence of array_like
        ``[A_1, ..., A_{N-1}]`` in layer order, ``A_k`` of shape ``(n_{k+1}, n_k)``.
    check_finite : bool
        Refuse NaN or infinite entries (``False`` lets them propagate).
    budget : int or None
        Bytes the intermediates may use; ``None`` for the default budget
        (see :func:`check_memory`).

    Returns
    -------
    numpy.ndarray
        The ``(n_N, n_1)`` Jacobian, a new array (never one of the inputs).

    Raises
    ------
    ShapeError, NonFiniteError, MemoryBudgetError

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
    if not isinstance(plan, Plan):
        raise ChainoptError(
            f"execute needs a Plan (e.g. chainopt.plan(dims, 'optimal')), got {type(plan).__name__} {plan!r}; "
            "to multiply by strategy name use chainopt.multiply(mats, 'optimal')"
        )
    arrays = check_jacobians(plan.chain, mats, check_finite=check_finite)
    itemsize = np.result_type(*arrays).itemsize
    needed = plan.peak_memory * itemsize
    if needed > (BUDGET_FLOOR if budget is None else budget):  # the common case skips the full check
        check_memory(
            MemoryEstimate(inputs=0, intermediates=needed, itemsize=itemsize),
            budget,
            what=f"executing {plan}" if len(str(plan)) <= 60 else "executing this plan",
        )
    return _run(plan, arrays)


def multi_dot(mats: Sequence, *, check_finite: bool = True) -> np.ndarray:
    """numpy's ``multi_dot`` on Jacobians given in layer order: the baseline.

    ``np.linalg.multi_dot`` picks an optimal order itself and multiplies
    with ``np.dot``; it takes the written order, so this converts with
    :func:`written_order`. It is an execution baseline, not a plan: it is
    not in ``STRATEGIES``. Its time includes numpy's search for the order,
    repeated on every call in pure Python (O(N^3); see
    :data:`MULTI_DOT_MAX_FACTORS`).

    Examples
    --------
    >>> mats = [np.full((3, 2), 1.0), np.full((1, 3), 2.0)]
    >>> multi_dot(mats)
    array([[6., 6.]])
    """
    mats = list(mats)  # a generator would be used up by the shape check
    arrays = check_jacobians(Chain.from_jacobians(mats), mats, check_finite=check_finite)
    if len(arrays) == 1:
        return arrays[0].copy()
    return np.linalg.multi_dot(written_order(arrays))


def multiply(mats: Sequence, strategy: str = "optimal", *, check_finite: bool = True) -> np.ndarray:
    """The product of Jacobians in layer order, by a strategy's name or ``'multi_dot'``.

    Examples
    --------
    >>> mats = [np.full((3, 2), 1.0), np.full((1, 3), 2.0)]
    >>> multiply(mats, "bwd")
    array([[6., 6.]])
    """
    mats = list(mats)  # a generator would be used up by the shape check
    if strategy == "multi_dot":
        return multi_dot(mats, check_finite=check_finite)
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise UnknownStrategyError(
            f"unknown strategy {strategy!r}; choose one of: {', '.join([*STRATEGIES, *BASELINES])}"
        )
    chain = Chain.from_jacobians(mats)
    return execute(get_strategy(strategy)(chain), mats, check_finite=check_finite)


# -- random chains -----------------------------------------------------------------


def seeded_rng(seed) -> np.random.Generator:
    """numpy's ``default_rng(seed)`` for a seed that is ``None``, an int >= 0, a SeedSequence or a Generator.

    Raises
    ------
    ChainoptError
        Naming the seed, for anything else (numpy's own error is a bare ValueError).

    Examples
    --------
    >>> float(seeded_rng(0).standard_normal()) == float(np.random.default_rng(0).standard_normal())
    True
    >>> seeded_rng(-1)
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: seed -1 is not allowed; use an integer >= 0 (or None for fresh entropy)
    """
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ChainoptError(f"seed {seed!r} is not allowed; use an integer >= 0 (or None for fresh entropy)")
    return np.random.default_rng(int(seed))


def random_jacobians(
    chain,
    *,
    seed=0,
    dtype=np.float64,
    budget: int | None = None,
    strategies: Sequence[str] = ("fwd", "bwd", "optimal"),
) -> list[np.ndarray]:
    """Seeded random Jacobians ``[A_1, ..., A_{N-1}]`` (layer order) for a chain.

    Entries of ``A_k`` are normal with variance ``1 / n_k``, so products
    along the chain stay of order one. Before allocating anything the bytes
    needed are estimated (the inputs plus the largest peak of intermediates
    among ``strategies``) and checked against the budget.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims, input first.
    seed : int or numpy.random.SeedSequence
        Same seed, same Jacobians.
    dtype : {numpy.float64, numpy.float32}
        Generated directly in this dtype (so the estimate is the real need).
    budget : int or None
        Bytes allowed; ``None``: the default budget (see :func:`check_memory`).
    strategies : sequence of str
        The strategies that will run on the result (for the estimate).

    Raises
    ------
    MemoryBudgetError
        Saying how many bytes are needed and how many are allowed.

    Examples
    --------
    >>> mats = random_jacobians([3, 4, 2], seed=0, dtype=np.float32)
    >>> [(a.shape, a.dtype.name) for a in mats]
    [((4, 3), 'float32'), ((2, 4), 'float32')]
    >>> random_jacobians([100_000, 100_000, 1], budget=2**30)
    Traceback (most recent call last):
    ...
    chainopt.errors.MemoryBudgetError: random Jacobians for 100000 -> 100000 -> 1 would need 80,001,600,000 bytes (74.5 GiB: 80,000,800,000 for the inputs + 800,000 for intermediates) but the budget allows 1,073,741,824 bytes (1.0 GiB)
    """
    chain = as_chain(chain)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ChainoptError(f"dtype {dtype} is not supported for random Jacobians; use float64 or float32")
    estimate = memory_estimate(chain, dtype=dtype, strategies=strategies)
    check_memory(estimate, budget, what=f"random Jacobians for {chain}")
    rng = seeded_rng(seed)
    d = chain.dims
    mats = []
    for k in range(chain.n_factors):
        a = rng.standard_normal((d[k + 1], d[k]), dtype=dtype)
        a *= dtype.type(1.0 / math.sqrt(d[k]))
        mats.append(a)
    return mats

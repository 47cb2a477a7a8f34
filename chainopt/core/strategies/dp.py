"""The matrix-chain dynamic programme (CLRS 15.2), vectorised one diagonal at a time."""

from __future__ import annotations

import numpy as np

from chainopt.core.chain import as_chain
from chainopt.core.memory import MemoryEstimate, refuse_over_budget
from chainopt.core.plan import Plan
from chainopt.errors import ChainTooLongError

__all__ = ["optimal", "optimal_cost_table", "DEFAULT_TABLE_BUDGET", "DP_MAX_FACTORS_BY_TIME"]

#: Bytes the DP's tables may take when no budget is passed (4 GiB): the core
#: never reads the machine, so the default is a constant; the shells pass
#: the machine's budget where they know it.
DEFAULT_TABLE_BUDGET = 4 * 2**30

#: The longest chain the O(n^3) DP accepts: beyond it, it would run for more than about a minute
#: (calibrated from measured times: see :func:`optimal`). ``optimal`` (Hu-Shing beyond 200 factors)
#: is exact at any length.
DP_MAX_FACTORS_BY_TIME = 4000


def optimal(chain, *, budget: int | None = None) -> Plan:
    """The cheapest bracketing, by the matrix-chain dynamic programme (CLRS 15.2).

    The naive equivalent is :func:`brute`: try every bracketing and keep the
    cheapest. For dims ``(10, 100, 5, 50)`` the two orders cost
    ``5*100*10 + 50*5*10 = 7,500`` (forward) and ``50*5*100 + 50*100*10 = 75,000``
    (reverse); the DP finds the 7,500 one without enumerating.

    Ties are broken as numpy's ``multi_dot`` breaks them: among equal-cost
    splits of a product, the one with the fewest factors on the output side
    wins. So on uniform chains the optimum is forward mode, and chainopt's
    optimal plan is the order ``multi_dot`` runs.

    See :func:`optimal_cost_table` for speed and exactness. ``budget`` is the
    bytes its tables may take (``None``: ``DEFAULT_TABLE_BUDGET``); a larger
    table is refused before it is allocated, and a chain longer than
    ``DP_MAX_FACTORS_BY_TIME`` (4,000) factors, which would take more than
    about a minute, is refused before any work. The limit is calibrated
    from measured times (random dims in [1, 1000], one call each): on a
    quiet machine 2,000 factors took 2.2-3.0 s, 4,000 26-33 s, 5,000 62 s
    and 8,000 301 s (growth exponent about 3.3); on this project's 2-core
    machine shared with other work 1,000 took 0.48 s and 2,000 9.1 s. So
    4,000 factors is half a minute quiet and about a minute under load.

    Raises
    ------
    ChainTooLongError
        For more than ``DP_MAX_FACTORS_BY_TIME`` factors (naming the alternatives).
    MemoryBudgetError
        If the tables would exceed ``budget``.

    Examples
    --------
    >>> p = optimal([10, 100, 5, 50])
    >>> str(p), p.cost
    ('A3 (A2 A1)', 7500)
    >>> optimal([30, 35, 15, 5, 10, 20, 25]).cost
    15125
    """
    chain = as_chain(chain)
    _, split = _dp_by_row(chain.dims, budget)
    n = chain.n_factors
    split_of = {}
    stack = [(0, n - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo < hi:
            mid = int(split[lo, hi - lo])
            split_of[(lo, hi)] = mid
            stack.append((lo, mid))
            stack.append((mid + 1, hi))
    return Plan(chain, split_of)


def optimal_cost_table(chain, *, budget: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The matrix-chain DP tables: ``cost[lo, hi]`` and ``split[lo, hi]``.

    ``cost[lo, hi]`` is the least multiply-adds for the product of factors
    ``lo..hi`` (0-based, inclusive) and ``split[lo, hi]`` its best ``mid``:
    ``(A_hi..A_{mid+1}) @ (A_mid..A_lo)``. Entries below the diagonal are 0.

    The DP is vectorised one diagonal (one product length) at a time, so
    a 1000-factor chain takes a fraction of a second. It computes in
    ``int64`` when ``n_factors * max(dims)**3 < 2**63``: every candidate the
    DP compares is the cost of some bracketing of a sub-chain, at most that
    many products of at most ``max(dims)**3`` each, so nothing can wrap.
    Otherwise it runs the same code on exact Python ints (``dtype=object``),
    slower but exact. ``cost`` has the matching dtype.

    Examples
    --------
    >>> cost, split = optimal_cost_table([30, 35, 15, 5, 10, 20, 25])
    >>> int(cost[0, 5]), int(split[0, 5])
    (15125, 2)
    """
    cost_by_row, split_by_row = _dp_by_row(as_chain(chain).dims, budget)
    n = cost_by_row.shape[0]
    cost = np.zeros((n, n), dtype=cost_by_row.dtype)
    split = np.zeros((n, n), dtype=np.int64)
    for length in range(1, n):
        rows = np.arange(n - length)
        cost[rows, rows + length] = cost_by_row[: n - length, length]
        split[rows, rows + length] = split_by_row[: n - length, length]
    return cost, split


#: Bytes per DP table entry: three n x n tables and a quarter-size work area;
#: exact (object) tables also hold a Python int of ~40 bytes per entry.
_DP_BYTES_PER_ENTRY = {False: 3.25 * 8, True: 3.25 * 8 + 2.25 * 40}


def _check_dp_memory(n: int, exact: bool, budget: int | None) -> None:
    """Refuse a DP whose tables would not fit the memory budget (before allocating them)."""
    needed = int(_DP_BYTES_PER_ENTRY[exact] * n * n)
    refuse_over_budget(
        MemoryEstimate(inputs=0, intermediates=needed, itemsize=8),
        DEFAULT_TABLE_BUDGET if budget is None else budget,
        what=f"the optimal-order DP for {n:,} factors ({'exact Python ints' if exact else 'int64'} tables)",
    )


def _dp_by_row(dims, budget: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The DP, tabled by row: ``cost[lo, t]``, ``split[lo, t]`` for the product of ``lo..lo+t``.

    One diagonal (one product length) per iteration, each a handful of
    whole-array numpy operations on basic slices: no per-entry Python work.
    """
    n = len(dims) - 1
    if n > DP_MAX_FACTORS_BY_TIME:
        raise ChainTooLongError(
            f"the O(n^3) optimal-order DP refuses a chain of {n:,} factors (at most {DP_MAX_FACTORS_BY_TIME:,}: "
            "beyond that it runs for minutes to hours); use strategy 'optimal' or 'hu_shing' (exact, O(n log n))"
        )
    exact = n * max(dims) ** 3 >= 2**63
    _check_dp_memory(n, exact, budget)
    dtype = object if exact else np.int64
    d = np.array([int(x) for x in dims], dtype=dtype)
    # Tables, with s = mid - lo and t = length - 1 - s (so t ascending = mid descending):
    #   row_rev[lo, n-1-s] = cost of factors lo..lo+s   (stored reversed)
    #   col[hi, t]        = cost of factors hi-t..hi
    # so that for every product lo..lo+length both operand costs, and the inner
    # dimension dims[mid+1], are forward (contiguous) slices indexed by t.
    row_rev = np.zeros((n, n), dtype=dtype)
    col = np.zeros((n, n), dtype=dtype)
    split = np.zeros((n, n), dtype=np.int64)
    # inner_dim[r, t] = dims[n - r - t], read from dims reversed and zero-padded.
    padded = np.concatenate([d[::-1], np.zeros(n, dtype=dtype)])
    inner_dim = np.lib.stride_tricks.as_strided(
        padded, shape=(n + 1, n + 1), strides=padded.strides * 2, writeable=False
    )
    work = np.empty(n * n // 4 + n, dtype=dtype)  # room for the largest diagonal's candidates
    rows = np.arange(n)
    for length in range(1, n):
        count = n - length  # products of length+1 factors: lo = 0..count-1
        candidates = work[: count * length].reshape(count, length)
        # dims[mid + 1] = dims[lo + length - t] = inner_dim[n - length - lo, t]; the product's cost is
        # costs.mul_cost(dims[hi + 1], dims[mid + 1], dims[lo]) for every candidate at once
        np.multiply(inner_dim[n - length : 0 : -1, :length], (d[:count] * d[length + 1 :])[:, None], out=candidates)
        candidates += row_rev[:count, n - length :]  # factors lo..mid
        candidates += col[length:, :length]  # factors mid+1..hi
        # the first minimum over t is the largest mid: the fewest output-side factors
        best_t = candidates.argmin(axis=1)
        row_rev[:count, n - 1 - length] = col[length:, length] = candidates[rows[:count], best_t]
        split[:count, length] = rows[:count] + (length - 1 - best_t)
    by_row = row_rev[:, ::-1]
    return by_row, split

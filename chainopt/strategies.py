"""Strategies: functions ``strategy(chain) -> Plan``, looked up by name.

=========  ==============================================================
name       plan
=========  ==============================================================
fwd        forward mode, ``A_{N-1}(...(A_3 (A_2 A_1)))``, column by column
bwd        reverse mode, ``((A_{N-1} A_{N-2}) ...) A_1``, row by row
optimal    the cheapest bracketing, by dynamic programming (exact)
brute      the cheapest bracketing, by trying every one (at most 12 factors)
=========  ==============================================================

Every strategy plans from the dims alone, never from the data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from chainopt.chain import Chain, as_chain
from chainopt.errors import ChainTooLongError, UnknownStrategyError
from chainopt.plan import Plan

__all__ = [
    "STRATEGIES",
    "plan",
    "get_strategy",
    "fwd",
    "bwd",
    "optimal",
    "brute",
    "all_plans",
    "optimal_cost_table",
    "BRUTE_MAX_FACTORS",
]

#: The longest chain :func:`brute` accepts (58,786 bracketings at 12 factors).
BRUTE_MAX_FACTORS = 12


def fwd(chain) -> Plan:
    """Forward mode: multiply from the input side, ``A_{N-1}(...(A_3 (A_2 A_1)))``.

    Examples
    --------
    >>> str(fwd([2, 3, 4, 5, 6]))
    'A4 (A3 (A2 A1))'
    """
    chain = as_chain(chain)
    return Plan(chain, {(0, hi): hi - 1 for hi in range(1, chain.n_factors)})


def bwd(chain) -> Plan:
    """Reverse mode: multiply from the output side, ``((A_{N-1} A_{N-2}) ...) A_1``.

    Examples
    --------
    >>> str(bwd([2, 3, 4, 5, 6]))
    '((A4 A3) A2) A1'
    """
    chain = as_chain(chain)
    n = chain.n_factors
    return Plan(chain, {(lo, n - 1): lo for lo in range(n - 1)})


def optimal(chain) -> Plan:
    """The cheapest bracketing, by the matrix-chain dynamic programme (CLRS 15.2).

    The naive equivalent is :func:`brute`: try every bracketing and keep the
    cheapest. For dims ``(10, 100, 5, 50)`` the two orders cost
    ``5*100*10 + 50*5*10 = 7,500`` (forward) and ``50*5*100 + 50*100*10 = 75,000``
    (reverse); the DP finds the 7,500 one without enumerating.

    Ties are broken as numpy's ``multi_dot`` breaks them: among equal-cost
    splits of a product, the one with the fewest factors on the output side
    wins. So on uniform chains the optimum is forward mode, and chainopt's
    optimal plan is the order ``multi_dot`` runs.

    See :func:`optimal_cost_table` for speed and exactness.

    Examples
    --------
    >>> p = optimal([10, 100, 5, 50])
    >>> str(p), p.cost
    ('A3 (A2 A1)', 7500)
    >>> optimal([30, 35, 15, 5, 10, 20, 25]).cost
    15125
    """
    chain = as_chain(chain)
    _, split = _dp_by_row(chain.dims)
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


def optimal_cost_table(chain) -> tuple[np.ndarray, np.ndarray]:
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
    cost_by_row, split_by_row = _dp_by_row(as_chain(chain).dims)
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


def _check_dp_memory(n: int, exact: bool) -> None:
    """Refuse a DP whose tables would not fit the memory budget (before allocating them)."""
    needed = int(_DP_BYTES_PER_ENTRY[exact] * n * n)
    if needed > 64 * 2**20:
        from chainopt.executor import MemoryEstimate, check_memory

        check_memory(
            MemoryEstimate(inputs=0, intermediates=needed, itemsize=8),
            what=f"the optimal-order DP for {n:,} factors ({'exact Python ints' if exact else 'int64'} tables)",
        )


def _dp_by_row(dims) -> tuple[np.ndarray, np.ndarray]:
    """The DP, tabled by row: ``cost[lo, t]``, ``split[lo, t]`` for the product of ``lo..lo+t``.

    One diagonal (one product length) per iteration, each a handful of
    whole-array numpy operations on basic slices: no per-entry Python work.
    """
    n = len(dims) - 1
    exact = n * max(dims) ** 3 >= 2**63
    _check_dp_memory(n, exact)
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
    inner_dim = np.lib.stride_tricks.as_strided(padded, shape=(n + 1, n + 1), strides=padded.strides * 2, writeable=False)
    work = np.empty(n * n // 4 + n, dtype=dtype)  # room for the largest diagonal's candidates
    rows = np.arange(n)
    for length in range(1, n):
        count = n - length  # products of length+1 factors: lo = 0..count-1
        candidates = work[: count * length].reshape(count, length)
        # dims[mid + 1] = dims[lo + length - t] = inner_dim[n - length - lo, t]
        np.multiply(inner_dim[n - length : 0 : -1, :length], (d[:count] * d[length + 1 :])[:, None], out=candidates)
        candidates += row_rev[:count, n - length :]  # factors lo..mid
        candidates += col[length:, :length]  # factors mid+1..hi
        # the first minimum over t is the largest mid: the fewest output-side factors
        best_t = candidates.argmin(axis=1)
        row_rev[:count, n - 1 - length] = col[length:, length] = candidates[rows[:count], best_t]
        split[:count, length] = rows[:count] + (length - 1 - best_t)
    by_row = row_rev[:, ::-1]
    return by_row, split


def all_plans(chain) -> Iterator[Plan]:
    """Every full bracketing of the chain (Catalan(N-2) of them), smallest output side first.

    Examples
    --------
    >>> [str(p) for p in all_plans([2, 3, 4, 5])]
    ['A3 (A2 A1)', '(A3 A2) A1']
    """
    chain = as_chain(chain)
    n = chain.n_factors
    memo: dict[tuple[int, int], list[dict]] = {}
    for length in range(n):  # bottom-up over product lengths: no recursion
        for lo in range(n - length):
            hi = lo + length
            if lo == hi:
                memo[(lo, hi)] = [{}]
                continue
            options = []
            for mid in range(hi - 1, lo - 1, -1):
                for right in memo[(lo, mid)]:
                    for left in memo[(mid + 1, hi)]:
                        options.append({**right, **left, (lo, hi): mid})
            memo[(lo, hi)] = options
    for split_of in memo[(0, n - 1)]:
        yield Plan(chain, split_of)


def brute(chain) -> Plan:
    """The cheapest bracketing found by costing every one (the oracle for :func:`optimal`).

    Ties go to the first in :func:`all_plans` order, which matches
    :func:`optimal`'s tie rule.

    Raises
    ------
    ChainTooLongError
        For chains of more than ``BRUTE_MAX_FACTORS`` (12) factors.

    Examples
    --------
    >>> brute([30, 35, 15, 5, 10, 20, 25]).cost
    15125
    """
    chain = as_chain(chain)
    if chain.n_factors > BRUTE_MAX_FACTORS:
        raise ChainTooLongError(
            f"brute force tries every bracketing and accepts at most {BRUTE_MAX_FACTORS} factors; "
            f"this chain has {chain.n_factors}: use 'optimal' (the same answer, by DP)"
        )
    return min(all_plans(chain), key=lambda p: p.cost)


#: Every strategy by name; all share the signature ``strategy(chain) -> Plan``.
STRATEGIES: dict[str, Callable[[Chain], Plan]] = {
    "fwd": fwd,
    "bwd": bwd,
    "optimal": optimal,
    "brute": brute,
}


def get_strategy(name: str) -> Callable[[Chain], Plan]:
    """The strategy registered as ``name``; an unknown name lists the valid ones."""
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}"
        ) from None


def plan(chain, strategy: str = "optimal") -> Plan:
    """The plan the named strategy picks for a chain (or a sequence of dims).

    Examples
    --------
    >>> str(plan([100, 1000, 10, 1000, 100], "optimal"))
    '(A4 A3) (A2 A1)'
    >>> plan([784, 512, 256, 10, 1], "bwd").cost
    535040
    """
    return get_strategy(strategy)(as_chain(chain))

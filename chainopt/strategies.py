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
    _, split = optimal_cost_table(chain)
    n = chain.n_factors
    split_of = {}
    stack = [(0, n - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo < hi:
            mid = int(split[lo, hi])
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
    dims = as_chain(chain).dims
    n = len(dims) - 1
    exact = n * max(dims) ** 3 >= 2**63
    dtype = object if exact else np.int64
    d = np.array([int(x) for x in dims], dtype=dtype)
    # by_row[lo, t] = cost of factors lo..lo+t; by_col[hi, t] = cost of hi-t..hi.
    by_row = np.zeros((n, n), dtype=dtype)
    by_col = np.zeros((n, n), dtype=dtype)
    split = np.zeros((n, n), dtype=np.int64)
    work = np.empty(n * n // 4 + n, dtype=dtype)  # the largest diagonal's candidates
    for length in range(1, n):
        count = n - length  # products of length+1 factors: lo = 0..count-1
        # Candidate mid = lo + t for t = length-1 .. 0 (descending, so that the first
        # minimum is the largest mid: the fewest factors on the output side).
        inner = work[: count * length].reshape(count, length)
        # dims[mid + 1] for every (lo, t): a sliding window over d[1:], reversed.
        middle = np.lib.stride_tricks.sliding_window_view(d[1:n], length)[:count, ::-1]
        np.multiply(middle, (d[:count] * d[length + 1 : n + 1])[:, None], out=inner)
        inner += by_row[:count, length - 1 :: -1]
        inner += by_col[length:, :length]
        best = np.argmin(inner, axis=1)
        rows = np.arange(count)
        by_row[rows, length] = by_col[rows + length, length] = inner[rows, best]
        split[rows, rows + length] = rows + (length - 1 - best)
    cost = np.zeros((n, n), dtype=dtype)
    for length in range(1, n):
        rows = np.arange(n - length)
        cost[rows, rows + length] = by_row[rows, length]
    return cost, split


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

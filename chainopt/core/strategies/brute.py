"""Exhaustive enumeration of bracketings: the oracle for the dynamic programmes."""

from __future__ import annotations

from collections.abc import Iterator

from chainopt.core.chain import as_chain
from chainopt.core.plan import Plan
from chainopt.errors import ChainTooLongError

__all__ = ["all_plans", "brute", "BRUTE_MAX_FACTORS"]

#: The longest chain :func:`brute` accepts (58,786 bracketings at 12 factors).
BRUTE_MAX_FACTORS = 12


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

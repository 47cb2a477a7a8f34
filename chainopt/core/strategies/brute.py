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
    """Every full bracketing of the chain (Catalan(N-2) of them), smallest output side first, one at a time.

    Lazy: each plan is built from the previous one (an odometer over the
    splits: a product's split point is the most significant digit, then its
    right operand's bracketing, then its left's), so the first plan comes at
    once and memory stays O(N) however many there are (2,674,440 for 16
    factors). Loops only, no recursion, for any length.

    Examples
    --------
    >>> [str(p) for p in all_plans([2, 3, 4, 5])]
    ['A3 (A2 A1)', '(A3 A2) A1']
    >>> str(next(iter(all_plans(range(1, 1001)))))[:24]
    'A999 (A998 (A997 (A996 ('
    """
    chain = as_chain(chain)
    root = (0, chain.n_factors - 1)
    split: dict[tuple[int, int], int] = {}
    _complete(split, root)
    while True:
        yield Plan(chain, dict(split))
        order = _preorder(split, root)
        for pos in range(len(order) - 1, -1, -1):  # the least significant digit that can still move
            if split[order[pos]] > order[pos][0]:
                break
        else:
            return
        for interval in order[pos + 1:]:  # every less significant digit (its operands' too) starts again
            del split[interval]
        split[order[pos]] -= 1
        _complete(split, root)


def _preorder(split: dict, root) -> list[tuple[int, int]]:
    """The products of the tree, each before its right operand's, the right's before the left's."""
    order, stack = [], [root]
    while stack:
        lo, hi = stack.pop()
        if lo < hi:
            order.append((lo, hi))
            mid = split[(lo, hi)]
            stack += [(mid + 1, hi), (lo, mid)]
    return order


def _complete(split: dict, root) -> None:
    """Give every product of the tree without a split the first one (the output side alone: ``hi - 1``)."""
    stack = [root]
    while stack:
        lo, hi = stack.pop()
        if lo < hi:
            mid = split.setdefault((lo, hi), hi - 1)
            stack += [(mid + 1, hi), (lo, mid)]


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

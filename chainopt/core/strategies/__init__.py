"""Strategies: ``strategy(chain, **options) -> Plan``, looked up by name in one registry.

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

from collections.abc import Callable

from chainopt.core.chain import Chain, as_chain
from chainopt.core.plan import Plan
from chainopt.core.strategies.brute import BRUTE_MAX_FACTORS, all_plans, brute
from chainopt.core.strategies.dp import optimal, optimal_cost_table
from chainopt.core.strategies.pure import bwd, fwd
from chainopt.errors import UnknownStrategyError

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

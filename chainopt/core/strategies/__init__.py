"""Strategies: ``strategy(chain, **options) -> Plan``, looked up by name in one registry.

A chain is dims (formed Jacobians, the matrix-chain problem) or a sequence of
:class:`~chainopt.core.factors.Factor` (the generalized problem: factors known
by their tangent and adjoint costs). Every strategy takes both.

=============  ======================================================================
name           plan
=============  ======================================================================
fwd            forward mode: ``A_{N-1}(...(A_3 (A_2 A_1)))`` on formed Jacobians, the
               global tangent sweep on factors (column by column)
bwd            reverse mode: the mirror image (row by row; the global adjoint sweep)
optimal        the cheapest plan, exact: the matrix-chain DP on dims (Hu-Shing beyond
               ``DP_MAX_FACTORS``), the generalized
               DP (tangents, adjoints, preaccumulation, products) on factors; with
               ``machines`` the shortest makespan (Märtens-Naumann DP)
preaccumulate  form every factor's Jacobian, then bracket the products optimally
hu_shing       the cheapest bracketing of formed Jacobians in O(n log n) (any length)
brute          the cheapest bracketing, by trying every one (dims, at most 12 factors)
=============  ======================================================================

Options (keyword-only): ``memory_limit`` (tape entries an adjoint may keep;
``None``: unlimited), ``machines`` (``optimal`` only: an int >= 1, or ``None``
for unlimited machines; the default 1 is the sequential optimum) and
``budget`` (bytes the DP tables may take). Every strategy plans from the
sizes alone, never from the data.
"""

from __future__ import annotations

from collections.abc import Callable

from chainopt.core.chain import Chain
from chainopt.core.factors import as_factors
from chainopt.core.plan import Plan, as_problem
from chainopt.core.strategies import dp, generalized, makespan, pure, sweeps
from chainopt.core.strategies.brute import BRUTE_MAX_FACTORS, all_plans
from chainopt.core.strategies.brute import brute as _brute
from chainopt.core.strategies.dp import optimal_cost_table
from chainopt.core.strategies.hu_shing import hu_shing as _hu_shing
from chainopt.core.strategies.schedule import schedule
from chainopt.errors import ChainoptError, UnknownStrategyError

#: ``optimal`` runs the O(n^3) DP up to this many factors (its tie rule is numpy's multi_dot's,
#: and it takes about 10 ms at 200 factors here), and Hu-Shing's O(n log n) algorithm beyond.
#: Hu-Shing is faster at every length (0.4 ms at 200 factors, 0.3 s at 10^5, 3 s at 10^6).
DP_MAX_FACTORS = 200

__all__ = [
    "STRATEGIES",
    "DP_MAX_FACTORS",
    "hu_shing",
    "plan",
    "get_strategy",
    "strategy_name",
    "fwd",
    "bwd",
    "optimal",
    "preaccumulate",
    "brute",
    "all_plans",
    "optimal_cost_table",
    "BRUTE_MAX_FACTORS",
]


def _problem(chain, memory_limit):
    """``(chain, factors, memory_limit)``: the problem, the limit checked (its value, and tapes to limit)."""
    chain, factors = as_problem(chain)
    memory_limit = generalized._check_limit(memory_limit)
    if memory_limit is not None and factors is None:
        raise ChainoptError(
            f"memory_limit={memory_limit} limits tapes, and plain dims have none (they are formed Jacobians, "
            "whose plans run no adjoint); give factors with tapes (chainopt.Factor, or a network's factors())"
        )
    return chain, factors, memory_limit


def fwd(chain, *, memory_limit: int | None = None) -> Plan:
    """Forward mode: from the input side; on factors, the global tangent sweep.

    Examples
    --------
    >>> str(fwd([2, 3, 4, 5, 6]))
    'A4 (A3 (A2 A1))'
    """
    chain, factors, memory_limit = _problem(chain, memory_limit)
    if factors is None:
        return pure.fwd(chain)
    return Plan.from_nodes(factors, sweeps.global_tangent(factors, memory_limit)[1], memory_limit=memory_limit,
                           acc_mode="TAN")


def bwd(chain, *, memory_limit: int | None = None) -> Plan:
    """Reverse mode: from the output side; on factors, the global adjoint sweep.

    Examples
    --------
    >>> str(bwd([2, 3, 4, 5, 6]))
    '((A4 A3) A2) A1'
    """
    chain, factors, memory_limit = _problem(chain, memory_limit)
    if factors is None:
        return pure.bwd(chain)
    return Plan.from_nodes(factors, sweeps.global_adjoint(factors, memory_limit)[1], memory_limit=memory_limit,
                           acc_mode="ADJ")


def optimal(chain, *, memory_limit: int | None = None, machines: int | None = 1, budget: int | None = None) -> Plan:
    """The cheapest plan (exact); with ``machines`` other than 1, the shortest makespan.

    On dims this is the matrix-chain DP (:func:`chainopt.core.strategies.dp.optimal`);
    on factors the generalized DP (:func:`chainopt.core.strategies.generalized.generalized_dp`),
    which contains forward, reverse and preaccumulate-then-bracket as special
    cases, so it is never worse than any of them. A chain of given dense
    factors gets exactly the plan its dims get.

    Examples
    --------
    >>> from chainopt.core.factors import Factor
    >>> f = Factor(n_in=42, n_out=8, tangent=7762, adjoint=7762, tape=7762)
    >>> g = Factor(n_in=8, n_out=8, tangent=8, adjoint=8, tape=8, diagonal=True)
    >>> h = Factor(n_in=8, n_out=3, given=True)
    >>> p = optimal([f, g, h])
    >>> str(p), p.cost
    ('(A3 F2) F1', 23310)
    """
    chain, factors, memory_limit = _problem(chain, memory_limit)
    if machines != 1:
        factors = factors if factors is not None else as_factors(chain.dims)
        _, nodes = makespan.makespan_dp(factors, machines, memory_limit=memory_limit)
        ops = schedule(factors, nodes, machines, memory_limit=memory_limit)
        return Plan.from_nodes(factors, nodes, memory_limit=memory_limit, machines=machines, schedule=tuple(ops))
    if factors is None:
        if chain.n_factors > DP_MAX_FACTORS:
            return hu_shing(chain)
        return dp.optimal(chain, budget=budget)
    _, nodes = generalized.generalized_dp(factors, memory_limit=memory_limit, budget=budget)
    return Plan.from_nodes(factors, nodes, memory_limit=memory_limit)


def hu_shing(chain) -> Plan:
    """The cheapest bracketing of formed Jacobians in O(n log n) time (Hu and Shing), for any length.

    Exact like the DP, with its own deterministic tie rule (see
    :mod:`chainopt.core.strategies.hu_shing`); ``optimal`` uses it beyond
    ``DP_MAX_FACTORS`` factors.

    Examples
    --------
    >>> hu_shing([30, 35, 15, 5, 10, 20, 25]).cost
    15125
    """
    chain, factors = as_problem(chain)
    if factors is not None:
        raise ChainoptError("hu_shing orders formed Jacobians (dims); for factors use 'optimal'")
    _, splits = _hu_shing(chain.dims)
    return Plan(chain, splits)


def preaccumulate(chain, *, memory_limit: int | None = None, budget: int | None = None) -> Plan:
    """Form every factor's Jacobian (ACC), then bracket the products optimally.

    Examples
    --------
    >>> from chainopt.core.factors import Factor
    >>> fs = [Factor(n_in=4, n_out=2, tangent=100, adjoint=100), Factor(n_in=2, n_out=32, tangent=100, adjoint=100)]
    >>> p = preaccumulate(fs)
    >>> str(p), p.cost
    ('A2 A1', 656)
    """
    chain, factors, memory_limit = _problem(chain, memory_limit)
    if factors is None:  # formed Jacobians: preaccumulation is free, so this is the optimum
        return optimal(chain, budget=budget)
    _, nodes = generalized.preaccumulate(factors, memory_limit, budget=budget)
    return Plan.from_nodes(factors, nodes, memory_limit=memory_limit)


def brute(chain) -> Plan:
    """The cheapest bracketing found by costing every one (the oracle for :func:`optimal`).

    Examples
    --------
    >>> brute([30, 35, 15, 5, 10, 20, 25]).cost
    15125
    """
    chain, factors = as_problem(chain)
    if factors is not None:
        raise ChainoptError("brute tries bracketings of formed Jacobians; for factors use 'optimal' (exact)")
    return _brute(chain)


#: Every strategy by name; all share the signature ``strategy(chain, **options) -> Plan``.
STRATEGIES: dict[str, Callable[..., Plan]] = {
    "fwd": fwd,
    "bwd": bwd,
    "optimal": optimal,
    "brute": brute,
    "preaccumulate": preaccumulate,
    "hu_shing": hu_shing,
}


def strategy_name(name: str) -> str:
    """The registered name of strategy ``name``, matched case-insensitively (``'FWD'`` -> ``'fwd'``).

    Raises
    ------
    UnknownStrategyError
        For a name that is not registered (or not a string), listing the valid ones.

    Examples
    --------
    >>> strategy_name("FWD"), strategy_name("Hu_Shing")
    ('fwd', 'hu_shing')
    """
    if not isinstance(name, str) or name.lower() not in STRATEGIES:
        raise UnknownStrategyError(f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    return name.lower()


def get_strategy(name: str) -> Callable[..., Plan]:
    """The strategy registered as ``name`` (case-insensitive); an unknown name lists the valid ones."""
    return STRATEGIES[strategy_name(name)]


def plan(chain, strategy: str = "optimal", **options) -> Plan:
    """The plan the named strategy picks for a chain: dims, a :class:`Chain`, or Factors.

    Options are passed to the strategy (``memory_limit``, ``machines``, ``budget``).

    Examples
    --------
    >>> str(plan([100, 1000, 10, 1000, 100], "optimal"))
    '(A4 A3) (A2 A1)'
    >>> plan([784, 512, 256, 10, 1], "bwd").cost
    535040
    """
    function = get_strategy(strategy)
    try:
        return function(chain if isinstance(chain, Chain) else chain, **options)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        raise ChainoptError(f"strategy {strategy!r} takes no option {exc.args[0].split()[-1]}") from None

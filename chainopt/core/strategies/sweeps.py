"""The global sweeps on generalized chains: forward mode (tangents) and reverse mode (adjoints).

``global_tangent`` forms ``F'_1`` by its ``n_1`` tangents and pushes them
through every later factor (``n_1 * sum t_k`` on matrix-free factors, as the
reference solvers count it); ``global_adjoint`` is its mirror image. A given
factor is multiplied (MUL) unless its tangent (adjoint) is strictly cheaper,
so a chain of given dense factors gives exactly forward (reverse) mode.
"""

from __future__ import annotations

from chainopt.core.costs import adj_cost, mul_cost, tan_cost
from chainopt.core.factors import Factor, as_factors
from chainopt.core.strategies.generalized import (
    _adjoint_fits,
    _check_limit,
)
from chainopt.errors import MemoryBudgetError

__all__ = ["global_tangent", "global_adjoint"]


def _sweep_leaf(factor: Factor, mode: str) -> int:
    """ACC of the sweep's first factor in the sweep's own mode (free if given)."""
    if factor.given:
        return 0
    if mode == "ADJ":
        return factor.adjoint if factor.diagonal else factor.n_out * factor.adjoint
    return factor.tangent if factor.diagonal else factor.n_in * factor.tangent


def _diag_prefix(factors):
    """``diag[k]``: factors ``0..k`` are all diagonal."""
    out, run = [], True
    for f in factors:
        run = run and f.diagonal
        out.append(run)
    return out


def global_tangent(factors, memory_limit=None) -> tuple[int, dict]:
    r"""Forward mode ("fwd"): one tangent sweep from the input, ``(cost, nodes)``.

    ``F_1`` is accumulated by its tangents (``n_1 t_1``, ``t_1`` if diagonal;
    free if given), then each next factor ``F_k`` extends ``J_{k-1..1}``: a
    matrix-free factor by TAN (``n_1 t_k``); a given factor by the MUL
    ``F'_k @ J_{k-1..1}`` unless its TAN is strictly cheaper (with the default
    ``t_k = n_k m_k`` they cost the same, and MUL wins the tie). So for
    matrix-free dense factors the cost is ``n_1 * sum_k t_k`` (the reference
    solvers' global tangent), and for given dense factors it is exactly
    :func:`chainopt.core.chain.fwd_cost` with the tree of ``plan(dims, "fwd")``.
    The ``ACC`` of ``F_1`` is by tangents even where adjoints would be
    cheaper. Tangents need no tape: ``memory_limit`` is accepted and unused.

    Examples
    --------
    >>> from chainopt.core.factors import read_factors
    >>> global_tangent(read_factors("3\n3 3 29\n1 3 14\n2 1 7\n"))[0]
    150
    >>> global_tangent([784, 512, 256, 10, 1])[0]
    104775328
    """
    factors = as_factors(factors)
    _check_limit(memory_limit)
    first = factors[0]
    cost = _sweep_leaf(first, "TAN")
    nodes = {(0, 0): ("ACC", 0)}
    diag = _diag_prefix(factors)
    for k in range(1, len(factors)):
        f = factors[k]
        by_tan = tan_cost(first.n_in, f.tangent)
        if f.given:
            by_mul = mul_cost(f.n_out, f.n_in, first.n_in, left_diagonal=f.diagonal,
                              right_diagonal=diag[k - 1])
            if by_mul <= by_tan:
                cost += by_mul
                nodes[(0, k)] = ("MUL", k - 1)
                nodes[(k, k)] = ("ACC", k)
                continue
        cost += by_tan
        nodes[(0, k)] = ("TAN", k - 1)
    return cost, nodes


def global_adjoint(factors, memory_limit=None) -> tuple[int, dict]:
    r"""Reverse mode ("bwd"): one adjoint sweep from the output, ``(cost, nodes)``.

    The mirror image of :func:`global_tangent`: ``F_q`` is accumulated by its
    adjoints (``m_q a_q``; free if given), then each earlier ``F_k`` extends
    ``J_{q..k+1}`` by ADJ (``m_q a_k``) or, if given, by the MUL
    ``J_{q..k+1} @ F'_k`` unless its ADJ is strictly cheaper (and allowed).
    Matrix-free dense factors cost ``m_q * sum_k a_k``; given dense factors
    give :func:`chainopt.core.chain.bwd_cost` and the tree of ``plan(dims, "bwd")``.

    Raises
    ------
    MemoryBudgetError
        If a factor that is not given has a tape above ``memory_limit``: the
        sweep needs its adjoint.

    Examples
    --------
    >>> from chainopt.core.factors import read_factors
    >>> global_adjoint(read_factors("3\n3 3 29\n1 3 14\n2 1 7\n"))[0]
    100
    >>> global_adjoint([784, 512, 256, 10, 1])[0]
    535040
    """
    factors = as_factors(factors)
    memory_limit = _check_limit(memory_limit)
    q = len(factors)
    for k, f in enumerate(factors, start=1):
        if not f.given and not _adjoint_fits(f, memory_limit):
            raise MemoryBudgetError(
                f"the adjoint sweep needs F_{k}'s tape of {f.tape:,} entries, "
                f"above the memory limit of {memory_limit:,}"
            )
    last = factors[-1]
    cost = _sweep_leaf(last, "ADJ")
    nodes = {(q - 1, q - 1): ("ACC", q - 1)}
    diag = _diag_prefix(factors[::-1])[::-1]  # diag[k]: factors k..q-1 all diagonal
    for k in range(q - 2, -1, -1):
        f = factors[k]
        by_adj = adj_cost(last.n_out, f.adjoint)
        if f.given:
            by_mul = mul_cost(last.n_out, f.n_out, f.n_in, left_diagonal=diag[k + 1],
                              right_diagonal=f.diagonal)
            if by_mul <= by_adj or not _adjoint_fits(f, memory_limit):
                cost += by_mul
                nodes[(k, q - 1)] = ("MUL", k)
                nodes[(k, k)] = ("ACC", k)
                continue
        cost += by_adj
        nodes[(k, q - 1)] = ("ADJ", k)
    return cost, nodes

"""The two pure modes as plans: forward (from the input side) and reverse (from the output side)."""

from __future__ import annotations

from chainopt.core.chain import as_chain
from chainopt.core.plan import Plan

__all__ = ["fwd", "bwd"]


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

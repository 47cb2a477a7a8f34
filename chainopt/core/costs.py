"""The cost model: what each operation of a plan costs, in multiply-adds (the one place).

Every cost chainopt reports is built from the four functions here, as exact
Python ``int``s. With ``J_{j..i} = F'_j ... F'_i`` the Jacobian of factors
``i..j`` (shape ``(m_j, n_i)``):

=====  ===============================================  ===============================
op     meaning                                          multiply-adds
=====  ===============================================  ===============================
ACC    preaccumulate one factor's Jacobian ``F'_k``     0 if given; ``min(t_k, a_k)`` if
                                                        diagonal; else ``min(n_k t_k,
                                                        m_k a_k)``
MUL    ``J_{j..k+1} @ J_{k..i}``                        ``m_j m_k n_i`` dense; a diagonal
                                                        operand makes it a row or column
                                                        scaling (see :func:`mul_cost`)
TAN    extend ``J_{k..i}`` by the tangent of ``F_j``    ``n_i t_j`` (one direction per
                                                        column)
ADJ    extend ``J_{j..k+1}`` by the adjoint of ``F_i``  ``m_j a_i`` (one direction per
                                                        row)
=====  ===============================================  ===============================

For a chain of given dense Jacobians only MUL costs anything, and
``mul_cost(m, p, q)`` is the textbook ``m * p * q``.
"""

from __future__ import annotations

__all__ = ["mul_cost", "tan_cost", "adj_cost", "acc_cost", "matrix_direction_cost"]


def mul_cost(rows: int, inner: int, cols: int, *, left_diagonal: bool = False, right_diagonal: bool = False) -> int:
    """Multiply-adds of ``(rows, inner) @ (inner, cols)``.

    A diagonal operand is square, so its product is a scaling: diagonal @
    dense scales rows (``inner * cols``), dense @ diagonal scales columns
    (``rows * inner``), diagonal @ diagonal is elementwise (``inner``).

    Examples
    --------
    >>> (mul_cost(10, 100, 5), mul_cost(8, 8, 3, left_diagonal=True),
    ...  mul_cost(8, 8, 8, left_diagonal=True, right_diagonal=True))
    (5000, 24, 8)
    """
    if left_diagonal and right_diagonal:
        return inner
    if left_diagonal:
        return inner * cols
    if right_diagonal:
        return rows * inner
    return rows * inner * cols


def tan_cost(cols: int, tangent: int) -> int:
    """Multiply-adds of pushing ``cols`` tangent directions through a factor costing ``tangent`` each.

    Examples
    --------
    >>> tan_cost(100, 7762)
    776200
    """
    return cols * tangent


def adj_cost(rows: int, adjoint: int) -> int:
    """Multiply-adds of pulling ``rows`` adjoint directions through a factor costing ``adjoint`` each.

    Examples
    --------
    >>> adj_cost(3, 7762)
    23286
    """
    return rows * adjoint


def acc_cost(n_in: int, n_out: int, tangent: int, adjoint: int, *, diagonal: bool = False,
             given: bool = False, adjoint_allowed: bool = True, mode: str | None = None) -> tuple[int, str]:
    """The cheapest way to preaccumulate one factor's Jacobian: ``(cost, mode)``.

    ``mode`` is ``'given'`` (free), ``'TAN'`` (``n_in`` unit tangents, or one
    all-ones direction for a diagonal factor) or ``'ADJ'`` (``n_out`` unit
    adjoints, or one all-ones one). Ties go to the tangent. With
    ``adjoint_allowed=False`` (its tape does not fit the memory limit) only
    tangents are used. ``mode='TAN'`` or ``'ADJ'`` forces that mode (the
    global sweeps form their first factor in their own mode).

    Examples
    --------
    >>> acc_cost(42, 8, 7762, 7762)
    (62096, 'ADJ')
    >>> acc_cost(8, 8, 8, 8, diagonal=True), acc_cost(8, 3, 24, 24, given=True)
    ((8, 'TAN'), (0, 'given'))
    """
    if given:
        return 0, "given"
    by_tangent = tangent if diagonal else n_in * tangent
    if not adjoint_allowed or mode == "TAN":
        return by_tangent, "TAN"
    by_adjoint = adjoint if diagonal else n_out * adjoint
    if mode == "ADJ":
        return by_adjoint, "ADJ"
    return (by_tangent, "TAN") if by_tangent <= by_adjoint else (by_adjoint, "ADJ")


def matrix_direction_cost(n_in: int, n_out: int, *, diagonal: bool = False) -> int:
    """Multiply-adds of one tangent or adjoint direction through a Jacobian held as a matrix.

    A dense ``(n_out, n_in)`` matrix-vector product costs ``n_out * n_in``;
    a diagonal one ``n_in``. This is the tangent and adjoint cost of a
    ``given`` factor.

    Examples
    --------
    >>> matrix_direction_cost(8, 3), matrix_direction_cost(8, 8, diagonal=True)
    (24, 8)
    """
    return n_in if diagonal else n_in * n_out

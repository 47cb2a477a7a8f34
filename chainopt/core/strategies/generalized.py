"""The generalized Jacobian chain problem: an exact, vectorised dynamic programme.

A chain of factors ``F_1 ... F_q`` (:class:`~chainopt.core.factors.Factor`,
layer order) is to be reduced to its Jacobian ``J_{q..1}``, where
``J_{j..i} = F'_j ... F'_i`` has shape ``(m_j, n_i)``. Four operations, costed
by :mod:`chainopt.core.costs` (the one cost model):

* ACC ``k``: preaccumulate ``F'_k`` (free if given; the cheaper of ``n_k``
  tangents and ``m_k`` adjoints, or one direction if diagonal);
* MUL: ``J_{j..k+1} @ J_{k..i}`` (a range whose factors are all diagonal is
  diagonal, and a diagonal operand turns the product into a scaling);
* TAN: extend ``J_{k..i}`` by the tangents of ``F_{k+1..j}``, ``n_i * sum t_l``;
* ADJ: extend ``J_{j..k+1}`` by the adjoints of ``F_{i..k}``, ``m_j * sum a_l``.

With a tape-memory limit ``M`` an adjoint through factor ``k`` (in ACC or
ADJ) is allowed only if ``E_k <= M``.

**Single-factor eliminations suffice.** A TAN over ``F_{k+1..j}`` costs
``n_i * sum t_l``, exactly the sum of the single-factor TANs of ``F_{k+1}``,
..., ``F_j`` one after the other (the number of columns, ``n_i``, never
changes); an ADJ over ``F_{i..k}`` likewise equals its single-factor ADJs
(``m_j`` rows throughout), and each needs only its own factor's tape (the
STCE reference solver asks a multi-factor ADJ for the sum of its factors'
tapes, a stricter rule, so single-factor steps dominate there too). So
every elimination sequence has a single-factor one of the same cost, and
the DP's node ``(i..j)`` is one of: ACC (``i == j``), MUL at some split, TAN
of factor ``j`` onto ``(i..j-1)``, or ADJ of factor ``i`` onto ``(i+1..j)``.
``tests/test_generalized.py`` checks this against a brute force over every
elimination sequence, multi-factor TANs and ADJs included.

The model is :mod:`chainopt.core.costs` as it stands: TAN and ADJ cost one
direction per column (row) even when the Jacobian being extended and the
factor are both diagonal; only a single factor's ACC uses one direction.

Tie rules (the first cheapest wins): MUL before TAN before ADJ; between
MUL splits the largest ``mid`` (fewest factors on the output side), as in
:func:`chainopt.core.strategies.dp.optimal`; an ACC tie goes to the tangent (as in
:func:`~chainopt.core.costs.acc_cost`). A given dense factor's TAN (ADJ) costs
what the MUL with it costs, so for a chain of given dense factors the DP
returns exactly the MUL tree and cost of ``optimal``.

Trees are ``{(lo, hi): (op, mid)}`` over 0-based inclusive factor ranges:

* ``("ACC", lo)`` for ``lo == hi`` (given factors too, at cost 0);
* ``("MUL", mid)``: ``(F_hi..F_{mid+1}) @ (F_mid..F_lo)``, children
  ``(lo, mid)`` and ``(mid + 1, hi)``;
* ``("TAN", hi - 1)``: the child ``(lo, hi - 1)`` extended by factor ``hi``'s
  tangent (factor ``hi`` is not a node);
* ``("ADJ", lo)``: the child ``(lo + 1, hi)`` extended by factor ``lo``'s
  adjoint (factor ``lo`` is not a node).
"""

from __future__ import annotations

import numbers

import numpy as np

from chainopt.core.costs import acc_cost
from chainopt.core.factors import Factor, as_factors
from chainopt.errors import DimensionError, MemoryBudgetError

__all__ = [
    "OPS",
    "dp_table_bytes",
    "generalized_cost_table",
    "generalized_dp",
    "preaccumulate",
]

#: The operation codes of :func:`generalized_cost_table`'s ``op`` table.
OPS = ("ACC", "MUL", "TAN", "ADJ")
_ACC, _MUL, _TAN, _ADJ = range(4)

#: Candidates per block of rows: the candidate array of a block stays in cache.
_BLOCK = 1 << 15


def _check_limit(memory_limit) -> int | None:
    """``None`` or a non-negative int (the tape-memory limit, in tape entries)."""
    if memory_limit is None:
        return None
    if isinstance(memory_limit, (bool, np.bool_)) or not isinstance(memory_limit, numbers.Integral):
        raise DimensionError(
            f"memory_limit is {memory_limit!r} ({type(memory_limit).__name__}); "
            "it must be None or a non-negative integer"
        )
    if memory_limit < 0:
        raise DimensionError(f"memory_limit is {memory_limit}; it must be None or >= 0")
    return int(memory_limit)


def _adjoint_fits(factor: Factor, memory_limit: int | None) -> bool:
    return memory_limit is None or factor.tape <= memory_limit


def _leaf_cost(factor: Factor, memory_limit: int | None) -> int:
    """The ACC cost of one factor (costs.acc_cost, adjoint only if its tape fits)."""
    return acc_cost(factor.n_in, factor.n_out, factor.tangent, factor.adjoint,
                    diagonal=factor.diagonal, given=factor.given,
                    adjoint_allowed=_adjoint_fits(factor, memory_limit))[0]


def _exact_needed(factors) -> bool:
    """Whether int64 could overflow (then the DP runs on exact Python ints).

    Every value the DP forms is the cost of some tree over a sub-chain, or a
    single operation's cost. A tree over ``q`` factors consumes each factor in
    exactly one ACC, TAN or ADJ (each at most ``d * c``, with ``d`` the largest
    size and ``c`` the largest tangent/adjoint cost) and has at most ``q - 1``
    MULs (each at most ``d**3``), so every value is below
    ``q * d * (c + d**2)``; int64 is used when that bound is below ``2**63``.
    """
    d = max(max(f.n_in, f.n_out) for f in factors)
    c = max(max(f.tangent, f.adjoint) for f in factors)
    return len(factors) * d * (c + d * d) >= 2**63


def dp_table_bytes(q: int, *, exact: bool = False, diagonal: bool = False, table: bool = False) -> int:
    """Bytes the DP's tables take for ``q`` factors (what a ``budget`` is compared with).

    Two cost tables (8-byte entries, plus ~40 bytes of Python int per entry
    when ``exact``), two more 8-byte tables when some factor is
    ``diagonal``, a 4-byte ``mid`` and a 1-byte ``op`` table, the block work
    area, and with ``table=True`` the three ``q x q`` tables
    :func:`generalized_cost_table` returns.

    Examples
    --------
    >>> dp_table_bytes(1000)
    21294144
    """
    per_entry = 16 + 5 + (40 if exact else 0) + (16 if diagonal else 0)
    if table:
        per_entry += 8 + 8 + 1
    return per_entry * q * q + 8 * (_BLOCK + 4 * q)


def _check_budget(q: int, exact: bool, diagonal: bool, table: bool, budget) -> None:
    if budget is None:
        return
    needed = dp_table_bytes(q, exact=exact, diagonal=diagonal, table=table)
    if needed > budget:
        raise MemoryBudgetError(
            f"the generalized DP for {q:,} factors needs about {needed:,} bytes of tables "
            f"({'exact Python ints' if exact else 'int64'}), more than the budget of {budget:,} bytes"
        )


def _solve(factors, memory_limit, budget, *, eliminations: bool = True, table: bool = False,
           exact: bool | None = None):
    """The DP tabled by row: ``cost[lo, L]``, ``op[lo, L]``, ``mid[lo, L]`` for the node ``lo..lo+L``.

    One diagonal (one range length ``L``) per iteration; within it, blocks of
    rows of whole-array numpy operations, no per-entry Python work.
    ``eliminations=False`` leaves out TAN and ADJ (ACC every factor, then MULs).
    """
    factors = as_factors(factors)
    memory_limit = _check_limit(memory_limit)
    q = len(factors)
    if exact is None:
        exact = _exact_needed(factors)
    any_diagonal = any(f.diagonal for f in factors)
    _check_budget(q, exact, any_diagonal, table, budget)
    dtype = object if exact else np.int64

    def column(values):
        return np.array([int(v) for v in values], dtype=dtype)

    n = column(f.n_in for f in factors)
    m = column(f.n_out for f in factors)
    t = column(f.tangent for f in factors)
    a = column(f.adjoint for f in factors)
    adj_ok = np.array([_adjoint_fits(f, memory_limit) for f in factors], dtype=bool)
    acc = column(_leaf_cost(f, memory_limit) for f in factors)

    # Tables, with s = mid - lo and u = L - 1 - s (u ascending = mid descending):
    #   row_rev[lo, q-1-s] = cost of lo..lo+s      (stored reversed)
    #   col[hi, u]         = cost of hi-u..hi
    # so that for the nodes lo..lo+L both operands' costs are forward slices in u.
    row_rev = np.zeros((q, q), dtype=dtype)
    col = np.zeros((q, q), dtype=dtype)
    op = np.zeros((q, q), dtype=np.int8)
    mid = np.zeros((q, q), dtype=np.int32)
    rows = np.arange(q)
    row_rev[:, q - 1] = acc
    col[:, 0] = acc
    mid[:, 0] = rows
    # inner[r, u] = m[q-1-r-u]: the inner size m_mid = m[lo+L-1-u] is inner[q-L-lo, u].
    padded = np.concatenate([m[::-1], np.zeros(q, dtype=dtype)])
    inner = np.lib.stride_tricks.as_strided(padded, shape=(q, q), strides=padded.strides * 2,
                                            writeable=False)
    if any_diagonal:
        # A range is diagonal iff it holds no dense factor: last_dense[hi] < lo.
        dense_idx = np.where([not f.diagonal for f in factors], rows, -1)
        last_dense = np.maximum.accumulate(dense_idx)
        is_diag = np.array([f.diagonal for f in factors])
        # The MUL cost m_hi * m_mid * n_lo with the operands' diagonal ranges scaled to 1
        # (mirrors costs.mul_cost: a diagonal operand makes the product a scaling):
        #   cols_rev[lo, q-1-s] = 1 if lo..lo+s is diagonal else n_lo   (aligned with row_rev)
        #   rows_col[hi, u]     = 1 if hi-u..hi is diagonal else m_hi   (aligned with col)
        cols_rev = np.zeros((q, q), dtype=dtype)
        rows_col = np.zeros((q, q), dtype=dtype)
        one = np.array(1, dtype=dtype)
        cols_rev[:, q - 1] = np.where(is_diag, one, n)
        rows_col[:, 0] = np.where(is_diag, one, m)
    work = np.empty(_BLOCK + q, dtype=dtype)

    for length in range(1, q):
        count = q - length  # nodes lo..lo+length for lo = 0..count-1
        best = np.empty(count, dtype=dtype)
        best_u = np.empty(count, dtype=np.intp)
        step = max(1, _BLOCK // length)
        for r0 in range(0, count, step):
            r1 = min(count, r0 + step)
            cand = work[: (r1 - r0) * length].reshape(r1 - r0, length)
            m_mid = inner[q - length - r0 : q - length - r1 : -1, :length]  # rows >= 1
            if any_diagonal:
                np.multiply(m_mid, cols_rev[r0:r1, q - length :], out=cand)
                cand *= rows_col[length + r0 : length + r1, :length]
            else:
                # mirrors costs.mul_cost (dense): m_hi * m_mid * n_lo
                np.multiply(m_mid, (n[r0:r1] * m[length + r0 : length + r1])[:, None], out=cand)
            cand += row_rev[r0:r1, q - length :]  # factors lo..mid
            cand += col[length + r0 : length + r1, :length]  # factors mid+1..hi
            # the first minimum is the largest mid: the fewest output-side factors
            u = cand.argmin(axis=1)
            best_u[r0:r1] = u
            best[r0:r1] = cand[rows[: r1 - r0], u]
        kind = np.full(count, _MUL, dtype=np.int8)
        split = rows[:count] + (length - 1 - best_u)
        if eliminations:
            # mirrors costs.tan_cost / adj_cost: n_lo * t_hi and m_hi * a_lo
            tan = row_rev[:count, q - length] + n[:count] * t[length:]  # onto lo..hi-1
            adj = col[length:, length - 1] + m[length:] * a[:count]  # onto lo+1..hi
            take = np.asarray(tan < best, dtype=bool)
            best = np.where(take, tan, best)
            kind[take] = _TAN
            split[take] = rows[:count][take] + length - 1
            take = adj_ok[:count] & np.asarray(adj < best, dtype=bool)
            best = np.where(take, adj, best)
            kind[take] = _ADJ
            split[take] = rows[:count][take]
        row_rev[:count, q - 1 - length] = best
        col[length:, length] = best
        op[:count, length] = kind
        mid[:count, length] = split
        if any_diagonal:
            diag_node = last_dense[length:] < rows[:count]
            cols_rev[:count, q - 1 - length] = np.where(diag_node, one, n[:count])
            rows_col[length:, length] = np.where(diag_node, one, m[length:])
    return row_rev[:, ::-1], op, mid


def _tree(op, mid) -> dict:
    """The nodes of the chosen tree, by a loop from the root (no recursion)."""
    q = op.shape[0]
    nodes = {}
    stack = [(0, q - 1)]
    while stack:
        lo, hi = stack.pop()
        code, k = int(op[lo, hi - lo]), int(mid[lo, hi - lo])
        nodes[(lo, hi)] = (OPS[code], k)
        if code == _MUL:
            stack += [(lo, k), (k + 1, hi)]
        elif code == _TAN:
            stack.append((lo, hi - 1))
        elif code == _ADJ:
            stack.append((lo + 1, hi))
    return nodes


def generalized_dp(factors, *, memory_limit=None, budget=None) -> tuple[int, dict]:
    """The cheapest way to compute a generalized chain's Jacobian: ``(cost, nodes)``.

    Parameters
    ----------
    factors : sequence of Factor, or dims
        The chain (anything :func:`~chainopt.core.factors.as_factors` takes;
        dims give given dense factors, today's matrix-chain problem).
    memory_limit : int, optional
        Tape-memory limit ``M``: an adjoint through factor ``k`` (ACC or ADJ)
        needs ``tape_k <= M``. ``None``: unlimited.
    budget : int, optional
        Bytes the DP's tables may take (see :func:`dp_table_bytes`);
        ``None``: no check. Checked before anything is allocated.

    Returns
    -------
    cost : int
        The optimal cost in multiply-adds (exact).
    nodes : dict
        ``{(lo, hi): (op, mid)}``, the chosen tree (see the module docstring).

    Raises
    ------
    MemoryBudgetError
        If the tables would exceed ``budget``.

    Notes
    -----
    ``O(q^3)`` candidate MULs, vectorised one diagonal of the table at a
    time (in blocks of rows that fit in cache), plus ``O(q)`` TAN/ADJ
    candidates per diagonal. Computes in ``int64`` when the bound of
    :func:`_exact_needed` proves nothing can wrap, else on exact Python ints.
    See the module docstring for why single-factor TAN/ADJ suffice and for
    the tie rules. Measured (random dense factors, sizes 1..1000, costs up
    to ``n * m``; best of three on a shared 2-core machine): ``q = 500`` in
    about 0.07 s, ``q = 2000`` in about 5 s, as today's matrix-chain DP.

    Examples
    --------
    >>> from chainopt.core.factors import Factor
    >>> fs = [Factor(n_in=2, n_out=4, tangent=100, adjoint=100),
    ...       Factor(n_in=4, n_out=8, tangent=100, adjoint=100)]
    >>> generalized_dp(fs)
    (400, {(0, 1): ('TAN', 0), (0, 0): ('ACC', 0)})
    >>> cost, nodes = generalized_dp([10, 100, 5, 50])  # dims: given dense factors
    >>> cost, nodes[(0, 2)], nodes[(0, 1)]  # today's optimum, A3 (A2 A1)
    (7500, ('MUL', 1), ('MUL', 0))
    """
    cost, op, mid = _solve(factors, memory_limit, budget)
    return int(cost[0, op.shape[0] - 1]), _tree(op, mid)


def generalized_cost_table(factors, *, memory_limit=None, budget=None, exact=None):
    """The DP's tables ``(cost, op, mid)``, each ``q x q`` indexed ``[lo, hi]``.

    ``cost[lo, hi]`` is the least cost of the Jacobian of factors ``lo..hi``,
    ``op[lo, hi]`` its operation (an index into :data:`OPS`) and
    ``mid[lo, hi]`` the ``mid`` of the tree's node. Entries below the
    diagonal are 0. ``cost`` is ``int64`` or, when int64 could overflow (or
    ``exact=True`` forces it), ``object`` (exact Python ints).

    Examples
    --------
    >>> cost, op, mid = generalized_cost_table([30, 35, 15, 5, 10, 20, 25])
    >>> int(cost[0, 5]), OPS[op[0, 5]], int(mid[0, 5])
    (15125, 'MUL', 2)
    """
    by_row, op_by_row, mid_by_row = _solve(factors, memory_limit, budget, table=True, exact=exact)
    q = op_by_row.shape[0]
    cost = np.zeros((q, q), dtype=by_row.dtype)
    op = np.zeros((q, q), dtype=np.int8)
    mid = np.zeros((q, q), dtype=np.int64)
    for length in range(q):
        lo = np.arange(q - length)
        cost[lo, lo + length] = by_row[: q - length, length]
        op[lo, lo + length] = op_by_row[: q - length, length]
        mid[lo, lo + length] = mid_by_row[: q - length, length]
    return cost, op, mid


def preaccumulate(factors, memory_limit=None, *, budget=None) -> tuple[int, dict]:
    r"""ACC every factor, then multiply them in the optimal (diagonal-aware) order.

    The same DP without TAN and ADJ; ties as in :func:`generalized_dp`.

    Examples
    --------
    >>> from chainopt.core.factors import read_factors
    >>> preaccumulate(read_factors("3\n3 3 29\n1 3 14\n2 1 7\n"))[0]
    123
    """
    cost, op, mid = _solve(factors, memory_limit, budget, eliminations=False)
    return int(cost[0, op.shape[0] - 1]), _tree(op, mid)

"""Scheduled Jacobian chaining: the shortest makespan of a generalized chain on m machines.

The chain ``F_q o ... o F_1`` (``factors[0]`` acts first) is accumulated by a
tree of operations (ACC, MUL, TAN, ADJ; costs from :mod:`chainopt.core.costs`),
and the tree's operations run on ``m`` identical machines, an operation
starting when its operands exist and a machine is free. The makespan is the
time the whole Jacobian ``J_{q..1}`` exists. This follows S. Märtens and
U. Naumann, "Scheduled Jacobian Chaining" (ACDA 2025, arXiv 2505.06056), and
reproduces their reference solver (github.com/STCE-at-RWTH/Jacobian-Chaining).

:func:`makespan_dp`
    Their dynamic programme over (subchain, machines). With ``T(i, j, p)`` the
    makespan of ``J_{j..i}`` on ``p`` machines::

        T(i, i, p) = ACC_i                                     (one machine)
        T(i, j, p) = min over i <= k < j of
            MUL: mul(i, k, j) + min( T(i, k, p) + T(k+1, j, p),            # in series
                                     min_{0<p1<p} max(T(k+1, j, p1),       # in parallel,
                                                      T(i, k, p - p1)) )   # machines split
            TAN: T(i, k, p) + n_i * (t_{k+1} + ... + t_j)
            ADJ: T(k+1, j, p) + m_j * (a_i + ... + a_k)

    and for unlimited machines (``machines=None``) the critical path, with
    ``max(T(i, k), T(k+1, j))`` for the MUL operands. The value is the
    makespan of a real schedule (the reference's schedule builder, see
    :func:`schedule`): exact for one machine (the sequential optimum) and for
    unlimited machines, a heuristic in between, because it only splits the
    machines between the two operands of a MUL for their whole lifetime
    (series-parallel schedules). Measured against the exact optimum: on the
    303 reference chains (910 machine counts with a ``bnb_makespan``) the DP
    is at most 1.3206x the optimum (``config_batch`` q=4 row 158 on 3
    machines: 125199 vs 94806); on the ACDA'25 published chains (lengths
    1..8, rows 0..199, the 8264 finished optima) at most 1.3359x (length 7,
    row 194, 2 machines).
    A multi-factor elimination (TAN over ``F_{k+1..j}`` at once) costs the
    same as the chain of single-factor ones, and in the DP both are a chain of
    dependent work on one machine, so they reach the same value; the nodes
    returned use single-factor steps only.
:func:`schedule`
    Places the operations of a chosen tree on workers: by default exactly as
    the reference's schedule builder does (so the makespan equals the DP
    value for the DP's tree), or with the reference's priority-list scheduler.
:func:`makespan_bnb`
    An exact branch and bound over trees and schedules together.

Examples
--------
>>> from collections import namedtuple
>>> F = namedtuple("F", "n_in n_out tangent adjoint tape diagonal given")
>>> chain = [F(42, 8, 7762, 7762, 7762, False, False), F(8, 11, 8033, 8033, 8033, False, False),
...          F(11, 8, 7879, 7879, 7879, False, False)]
>>> makespan_dp(chain, 1)[0], makespan_dp(chain, 2)[0], makespan_dp(chain, None)[0]
(189392, 127064, 67656)
>>> from chainopt.core.strategies.makespan_bnb import makespan_bnb
>>> makespan_bnb(chain, 2)[0]
127064
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainopt.core import costs
from chainopt.errors import ChainoptError, DimensionError

__all__ = ["MachineCountError", "ScheduledOp", "makespan_dp"]

_ACC, _MUL, _TAN, _ADJ = 0, 1, 2, 3
_OP_NAMES = ("ACC", "MUL", "TAN", "ADJ")
_INT64_SAFE = 1 << 62


class MachineCountError(ChainoptError):
    """A machine count that is not an int >= 1 (or None for unlimited)."""


@dataclass(frozen=True)
class ScheduledOp:
    """One operation of a schedule: ``op`` builds ``J_{hi..lo}`` on ``worker`` in ``[start, end)``.

    ``mid`` as in :func:`makespan_dp`'s nodes; ``cost == end - start`` in multiply-adds.

    Examples
    --------
    >>> ScheduledOp("ACC", 0, 0, 0, 5, 0, 0, 5).end
    5
    """

    op: str
    lo: int
    mid: int
    hi: int
    cost: int
    worker: int
    start: int
    end: int


# --------------------------------------------------------------------------- validation


def _check_machines(machines):
    if machines is None:
        return None
    if isinstance(machines, (bool, np.bool_)) or not isinstance(machines, (int, np.integer)):
        raise MachineCountError(
            f"machines must be an int >= 1 or None (unlimited), got {machines!r}")
    if machines < 1:
        raise MachineCountError(f"machines must be an int >= 1 or None (unlimited), got {machines}")
    return int(machines)


def _check_factors(factors):
    factors = list(factors)
    if not factors:
        raise DimensionError("factors must be a non-empty sequence of factors, got an empty one")
    for k in range(len(factors) - 1):
        if factors[k].n_out != factors[k + 1].n_in:
            raise DimensionError(
                f"factor {k} maps to R^{factors[k].n_out} but factor {k + 1} expects "
                f"R^{factors[k + 1].n_in}")
    return factors


def _check_memory(memory_limit):
    if memory_limit is None:
        return None
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, np.integer)) \
            or memory_limit < 0:
        raise ChainoptError(f"memory_limit must be an int >= 0 or None, got {memory_limit!r}")
    return int(memory_limit)


# --------------------------------------------------------------------------- the cost model


class _Model:
    """Per-factor quantities and the cost of every single operation (from :mod:`costs`)."""

    def __init__(self, factors, memory_limit):
        self.q = len(factors)
        self.n = [int(f.n_in) for f in factors]
        self.m = [int(f.n_out) for f in factors]
        self.t = [int(f.tangent) for f in factors]
        self.a = [int(f.adjoint) for f in factors]
        self.adj_ok = [memory_limit is None or int(f.tape) <= memory_limit for f in factors]
        self.diag = [bool(f.diagonal) for f in factors]
        self.acc = [costs.acc_cost(f.n_in, f.n_out, f.tangent, f.adjoint, diagonal=bool(f.diagonal),
                                   given=bool(f.given), adjoint_allowed=self.adj_ok[k])[0]
                    for k, f in enumerate(factors)]
        # ndiag[k] = number of non-diagonal factors among 0..k-1
        self.ndiag = [0]
        for d in self.diag:
            self.ndiag.append(self.ndiag[-1] + (not d))

    def all_diagonal(self, lo, hi):
        return self.ndiag[hi + 1] == self.ndiag[lo]

    def mul(self, lo, mid, hi):
        """``J_{hi..mid+1} @ J_{mid..lo}``."""
        return costs.mul_cost(self.m[hi], self.m[mid], self.n[lo],
                              left_diagonal=self.all_diagonal(mid + 1, hi),
                              right_diagonal=self.all_diagonal(lo, mid))

    def tan(self, lo, hi):
        """Extend ``J_{hi-1..lo}`` by factor ``hi``'s tangent."""
        return costs.tan_cost(self.n[lo], self.t[hi])

    def adj(self, lo, hi):
        """Extend ``J_{hi..lo+1}`` by factor ``lo``'s adjoint."""
        return costs.adj_cost(self.m[hi], self.a[lo])

    def node_cost(self, op, lo, mid, hi):
        if op == "ACC":
            return self.acc[lo]
        if op == "MUL":
            return self.mul(lo, mid, hi)
        if op == "TAN":
            return self.tan(lo, hi)
        if not self.adj_ok[lo]:
            raise ChainoptError(
                f"node ({lo}, {hi}) is an ADJ through factor {lo}, whose tape does not fit the "
                "memory limit")
        return self.adj(lo, hi)


# --------------------------------------------------------------------------- the DP


def makespan_dp(factors, machines, *, memory_limit=None):
    """The Märtens-Naumann DP: a short makespan on ``machines`` machines, and its tree.

    Parameters
    ----------
    factors : sequence
        ``F_1 .. F_q`` in layer order (``factors[0]`` acts first); each has
        ``n_in, n_out, tangent, adjoint, tape, diagonal, given``.
    machines : int or None
        Number of identical machines (``>= 1``), or ``None`` for unlimited
        machines (the critical path). More than ``q`` machines act as ``q``.
    memory_limit : int, optional
        An adjoint through factor ``k`` (ACC or ADJ) only if ``tape_k <= memory_limit``.

    Returns
    -------
    makespan : int
        The makespan of the DP's schedule (exact Python int). With one
        machine it is the sequential optimum; with ``None`` the optimal
        critical path; otherwise an upper bound on the optimum (see the module
        docstring for how far off it can be).
    nodes : dict
        ``{(lo, hi): (op, mid)}``, 0-based inclusive ranges; ``op`` is
        ``"ACC"`` (``lo == hi == mid``), ``"MUL"`` (``J_{hi..mid+1} @
        J_{mid..lo}``), ``"TAN"`` (``mid == hi - 1``: extend ``(lo, hi-1)``
        by factor ``hi``) or ``"ADJ"`` (``mid == lo``: extend ``(lo+1, hi)``
        by factor ``lo``). The reference's multi-factor eliminations are
        written as consecutive single-factor nodes.

    Raises
    ------
    MachineCountError
        ``machines`` is not an int >= 1 or None.
    DimensionError
        The factors do not chain (or there are none).

    Notes
    -----
    Ties are broken as in the reference solver (for each split ``k`` in
    order: MUL in series, MUL in parallel with fewest machines for the upper
    operand, TAN, then ADJ; the first strict minimum wins), so the tree is the
    one it reports. Time ``O(q^3 p^2)`` with numpy over the split: about 0.6 s
    for ``q = 50, p = 8``.

    Examples
    --------
    >>> from collections import namedtuple
    >>> F = namedtuple("F", "n_in n_out tangent adjoint tape diagonal given")
    >>> chain = [F(4, 2, 10, 10, 10, False, False), F(2, 4, 10, 10, 10, False, False)]
    >>> makespan_dp(chain, 1)
    (60, {(0, 0): ('ACC', 0), (0, 1): ('TAN', 0)})
    >>> makespan_dp(chain, 2)
    (52, {(1, 1): ('ACC', 1), (0, 0): ('ACC', 0), (0, 1): ('MUL', 0)})
    """
    machines = _check_machines(machines)
    factors = _check_factors(factors)
    memory_limit = _check_memory(memory_limit)
    model = _Model(factors, memory_limit)
    table, choice = _dp_tables(model, machines)
    q = model.q
    p = table.shape[0] - 1
    nodes = {}
    _extract(model, choice, 0, q - 1, p, nodes)
    return int(table[p, 0, q - 1]), nodes


def _dp_tables(model, machines):
    """Fill ``T[p, lo, hi]`` and the choice arrays; ``p`` runs 1..P (P = 1 if unlimited)."""
    q = model.q
    unlimited = machines is None
    big_p = 1 if unlimited else min(machines, q)
    n, m = model.n, model.m
    # prefix sums of tangent / adjoint costs, and the first factor whose tape is too big
    st = [0]
    sa = [0]
    for k in range(q):
        st.append(st[-1] + model.t[k])
        sa.append(sa[-1] + model.a[k])
    bad_before = [0]  # bad_before[k] = number of factors < k whose adjoint is not allowed
    for ok in model.adj_ok:
        bad_before.append(bad_before[-1] + (not ok))

    # candidate op costs per (lo, hi): vectors over the split
    mul_vec, tan_vec, adj_vec = {}, {}, {}
    bound = max(model.acc)
    for length in range(2, q + 1):
        for lo in range(q - length + 1):
            hi = lo + length - 1
            mv = [model.mul(lo, k, hi) for k in range(lo, hi)]
            # TAN from (lo, k) over factors k+1..hi
            tv = [costs.tan_cost(n[lo], st[hi + 1] - st[k + 1]) for k in range(lo, hi)]
            # ADJ from (k2+1, hi) over factors lo..k2, k2 = hi-1 down to lo (reference order)
            av = [costs.adj_cost(m[hi], sa[k2 + 1] - sa[lo])
                  if bad_before[k2 + 1] == bad_before[lo] else None
                  for k2 in range(hi - 1, lo - 1, -1)]
            mul_vec[lo, hi], tan_vec[lo, hi], adj_vec[lo, hi] = mv, tv, av
            bound = max(bound, max(mv), max(tv), max((x for x in av if x is not None), default=0))
    safe = bound * (2 * q) < _INT64_SAFE
    dtype = np.int64 if safe else object
    inf = _INT64_SAFE if safe else float("inf")
    if safe:
        mul_vec = {key: np.array(v, dtype=np.int64) for key, v in mul_vec.items()}
        tan_vec = {key: np.array(v, dtype=np.int64) for key, v in tan_vec.items()}
        adj_vec = {key: np.array([inf if x is None else x for x in v], dtype=np.int64)
                   for key, v in adj_vec.items()}
    else:
        mul_vec = {key: np.array(v, dtype=object) for key, v in mul_vec.items()}
        tan_vec = {key: np.array(v, dtype=object) for key, v in tan_vec.items()}
        adj_vec = {key: np.array([inf if x is None else x for x in v], dtype=object)
                   for key, v in adj_vec.items()}

    table = np.full((big_p + 1, q, q), inf, dtype=dtype)
    kind = np.zeros((big_p + 1, q, q), dtype=np.int8)
    split = np.zeros((big_p + 1, q, q), dtype=np.int64)
    pslit = np.zeros((big_p + 1, q, q), dtype=np.int64)  # machines of the upper operand; 0: series
    for k in range(q):
        table[:, k, k] = model.acc[k]
    for length in range(2, q + 1):
        n_split = length - 1
        for lo in range(q - length + 1):
            hi = lo + length - 1
            mv, tv, av = mul_vec[lo, hi], tan_vec[lo, hi], adj_vec[lo, hi]
            for p in range(1, big_p + 1):
                if p > length:  # more machines than factors: the critical path, as with `length`
                    table[p, lo, hi] = table[length, lo, hi]
                    kind[p, lo, hi], split[p, lo, hi] = kind[length, lo, hi], split[length, lo, hi]
                    pslit[p, lo, hi] = pslit[length, lo, hi]
                    continue
                lower = table[p, lo, lo:hi]             # T(lo, k, p), k = lo..hi-1
                upper = table[p, lo + 1:hi + 1, hi]     # T(k+1, hi, p)
                if unlimited:
                    best = np.maximum(lower, upper)
                    p1 = np.zeros(n_split, dtype=np.int64)
                else:
                    best = lower + upper
                    p1 = np.zeros(n_split, dtype=np.int64)
                    if p > 1:
                        # row r: upper operand gets p1 = r + 1 machines, lower p - p1
                        par = np.maximum(table[1:p, lo + 1:hi + 1, hi], table[p - 1:0:-1, lo, lo:hi])
                        r = np.argmin(par, axis=0)
                        pbest = par[r, np.arange(n_split)]
                        better = pbest < best
                        best = np.where(better, pbest, best)
                        p1 = np.where(better, r + 1, 0)
                mul = best + mv
                tan = lower + tv
                # ADJ candidate listed with split index k is the one with k2 = hi - (k - lo + 1)
                adj = table[p, hi:lo:-1, hi] + av  # T(k2+1, hi, p), k2 = hi-1 .. lo
                cand = np.stack([mul, tan, adj], axis=1).reshape(-1)
                idx = int(np.argmin(cand))
                k_idx, what = divmod(idx, 3)
                table[p, lo, hi] = cand[idx]
                if what == 0:
                    kind[p, lo, hi], split[p, lo, hi] = _MUL, lo + k_idx
                    pslit[p, lo, hi] = p1[k_idx]
                elif what == 1:
                    kind[p, lo, hi], split[p, lo, hi] = _TAN, lo + k_idx
                else:
                    kind[p, lo, hi], split[p, lo, hi] = _ADJ, hi - 1 - k_idx
    return table, (kind, split, pslit)


def _extract(model, choice, lo, hi, p, nodes):
    kind, split, pslit = choice
    if lo == hi:
        nodes[lo, hi] = ("ACC", lo)
        return
    what, k = int(kind[p, lo, hi]), int(split[p, lo, hi])
    if what == _MUL:
        p1 = int(pslit[p, lo, hi])
        _extract(model, choice, k + 1, hi, p1 or p, nodes)
        _extract(model, choice, lo, k, p - p1 if p1 else p, nodes)
        nodes[lo, hi] = ("MUL", k)
    elif what == _TAN:  # (lo, k) extended by factors k+1..hi
        _extract(model, choice, lo, k, p, nodes)
        for h in range(k + 1, hi + 1):
            nodes[lo, h] = ("TAN", h - 1)
    else:  # (k+1, hi) extended by factors k..lo (k = k2)
        _extract(model, choice, k + 1, hi, p, nodes)
        for low in range(k, lo - 1, -1):
            nodes[low, hi] = ("ADJ", low)


# --------------------------------------------------------------------------- the tree

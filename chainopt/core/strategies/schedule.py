"""Placing a chosen tree's operations on machines: the reference's allotment schedule and a list scheduler."""

from __future__ import annotations

from chainopt.core.strategies.makespan import (
    ScheduledOp,
    _check_factors,
    _check_machines,
    _check_memory,
    _Model,
)
from chainopt.errors import ChainoptError

__all__ = ["schedule"]


def _check_tree(model, nodes):
    """The tree's nodes reachable from the root, children before parents: ``[(lo, hi, op, mid)]``."""
    q = model.q
    order = []
    stack = [((0, q - 1), False)]
    seen = set()
    while stack:
        key, done = stack.pop()
        if done:
            order.append((key[0], key[1]) + tuple(nodes[key]))
            continue
        if key in seen:
            raise ChainoptError(f"node {key} is used twice in the tree")
        seen.add(key)
        if key not in nodes:
            raise ChainoptError(f"the tree has no node for the range {key}")
        lo, hi = key
        op, mid = nodes[key]
        stack.append((key, True))
        if op == "ACC" and lo == hi == mid:
            continue
        if op == "MUL" and lo <= mid < hi:
            stack.append(((lo, mid), False))
            stack.append(((mid + 1, hi), False))
        elif op == "TAN" and lo < hi and mid == hi - 1:
            stack.append(((lo, hi - 1), False))
        elif op == "ADJ" and lo < hi and mid == lo:
            stack.append(((lo + 1, hi), False))
        else:
            raise ChainoptError(f"node {key}: {(op, mid)!r} is not a valid operation for the range")
    return order


def _children(lo, hi, op, mid):
    if op == "MUL":
        return ((mid + 1, hi), (lo, mid))  # upper (left operand) first, as the reference
    if op == "TAN":
        return ((lo, hi - 1),)
    if op == "ADJ":
        return ((lo + 1, hi),)
    return ()


def schedule(factors, nodes, machines, *, memory_limit=None, policy="dp"):
    """Place the operations of a tree on workers.

    Parameters
    ----------
    factors : sequence
        The chain, as for :func:`makespan_dp`.
    nodes : dict
        A tree ``{(lo, hi): (op, mid)}`` as returned by :func:`makespan_dp` or
        :func:`makespan_bnb` (nodes not reachable from ``(0, q-1)`` are ignored).
    machines : int or None
        Number of machines, ``None`` for unlimited.
    memory_limit : int, optional
        As in :func:`makespan_dp` (it changes the cost of an ACC).
    policy : {"dp", "list"}
        ``"dp"`` (default) is the reference's schedule builder: machines are
        allotted to the subtrees by the DP recurrence restricted to this tree
        (the two operands of a MUL in series on the same machines, or in
        parallel on disjoint machines); on the DP's own tree its makespan is
        exactly :func:`makespan_dp`'s value. ``"list"`` is the reference's
        priority-list scheduler (deepest operation first, then the costliest;
        each on the worker where it starts earliest, then idles least); it
        may be shorter or longer than ``"dp"``.

    Returns
    -------
    list of ScheduledOp
        Sorted by start time then worker. The makespan is ``max(op.end)``.

    Examples
    --------
    >>> from collections import namedtuple
    >>> F = namedtuple("F", "n_in n_out tangent adjoint tape diagonal given")
    >>> chain = [F(4, 2, 10, 10, 10, False, False), F(2, 4, 10, 10, 10, False, False)]
    >>> from chainopt.core.strategies.makespan import makespan_dp
    >>> ms, nodes = makespan_dp(chain, 2)
    >>> for op in schedule(chain, nodes, 2):
    ...     print(op.op, op.lo, op.hi, op.worker, op.start, op.end)
    ACC 1 1 0 0 20
    ACC 0 0 1 0 20
    MUL 0 1 0 20 52
    """
    machines = _check_machines(machines)
    factors = _check_factors(factors)
    memory_limit = _check_memory(memory_limit)
    model = _Model(factors, memory_limit)
    order = _check_tree(model, nodes)
    cost = {(lo, hi): model.node_cost(op, lo, mid, hi) for lo, hi, op, mid in order}
    n_leaves = sum(op == "ACC" for _, _, op, _ in order)
    workers = n_leaves if machines is None else min(machines, n_leaves)
    if policy == "dp":
        ops = _allotment_schedule(order, cost, workers)
    elif policy == "list":
        ops = _list_schedule(order, cost, workers)
    else:
        raise ChainoptError(f"policy must be 'dp' or 'list', got {policy!r}")
    return sorted(ops, key=lambda o: (o.start, o.worker, o.lo, o.hi))


def _allotment_schedule(order, cost, workers):
    info = {(lo, hi): (op, mid) for lo, hi, op, mid in order}
    best = {}  # (lo, hi) -> list over p = 1..workers of (makespan, p1)
    for lo, hi, op, mid in order:
        c = cost[lo, hi]
        kids = _children(lo, hi, op, mid)
        row = []
        for p in range(1, workers + 1):
            if not kids:
                row.append((c, 0))
            elif len(kids) == 1:
                row.append((best[kids[0]][p - 1][0] + c, 0))
            else:
                up, low = best[kids[0]], best[kids[1]]
                val, p1 = up[p - 1][0] + low[p - 1][0], 0
                for r in range(1, p):
                    v = max(up[r - 1][0], low[p - r - 1][0])
                    if v < val:
                        val, p1 = v, r
                row.append((val + c, p1))
        best[lo, hi] = row
    free = [0] * workers
    out = []

    def build(key, first, p, start):
        op, mid = info[key]
        lo, hi = key
        kids = _children(lo, hi, op, mid)
        if not kids:
            worker, begin = first, max(start, free[first])
        elif len(kids) == 1:
            end = build(kids[0], first, p, start)
            worker, begin = first, end
        else:
            p1 = best[key][p - 1][1]
            if p1:
                end_up = build(kids[0], first, p1, start)
                end_low = build(kids[1], first + p1, p - p1, start)
                second = first + p1
            else:
                end_up = build(kids[0], first, p, start)
                end_low = build(kids[1], first, p, end_up)
                second = first
            worker, begin = (first, end_up) if end_up >= end_low else (second, end_low)
        c = cost[key]
        free[worker] = max(free[worker], begin + c)
        out.append(ScheduledOp(op, lo, mid, hi, c, worker, begin, begin + c))
        return begin + c

    if workers:
        build(order[-1][:2], 0, workers, 0)
    return out


def _list_schedule(order, cost, workers):
    depth = {order[-1][:2]: 1}
    for lo, hi, op, mid in reversed(order):
        for kid in _children(lo, hi, op, mid):
            depth[kid] = depth[lo, hi] + 1
    prio = sorted(order, key=lambda x: (-depth[x[0], x[1]], -cost[x[0], x[1]]))
    load = [0] * workers
    end = {}
    out = []
    for lo, hi, op, mid in prio:
        ready = max((end[kid] for kid in _children(lo, hi, op, mid)), default=0)
        worker = 0
        begin = max(load[0], ready)
        idle = begin - load[0]
        for w in range(1, workers):
            s = max(load[w], ready)
            if s < begin or (s == begin and s - load[w] < idle):
                worker, begin, idle = w, s, s - load[w]
        c = cost[lo, hi]
        load[worker] = end[lo, hi] = begin + c
        out.append(ScheduledOp(op, lo, mid, hi, c, worker, begin, begin + c))
    return out


# --------------------------------------------------------------------------- branch and bound

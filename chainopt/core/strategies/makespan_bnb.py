"""The exact optimum of scheduled Jacobian chaining: branch and bound over trees and schedules.

The oracle for :func:`chainopt.core.strategies.makespan.makespan_dp` (a
heuristic between one and unlimited machines); see that module for the model.
"""

from __future__ import annotations

import time

from chainopt.core.strategies.makespan import (
    _check_factors,
    _check_machines,
    _check_memory,
    _Model,
    makespan_dp,
)
from chainopt.errors import ChainoptError

__all__ = ["makespan_bnb"]


class _Timeout(Exception):
    pass


def makespan_bnb(factors, machines, *, memory_limit=None, time_limit=10.0):
    """The exact shortest makespan, by branch and bound over trees and schedules together.

    A state is the chain cut into segments (a factor not yet touched, or an
    accumulated ``J_{hi..lo}`` with the time it exists) and the machines'
    free times. A branch starts one more operation (ACC of an untouched
    factor, MUL of two adjacent segments, TAN or ADJ of a segment with an
    untouched neighbour) on a machine, as early as possible; operations are
    started in non-decreasing start time, which loses nothing (every
    schedule can be shifted left into one built this way), so free times and
    ready times below the current time are rounded up to it and equal states
    are visited once. Bounds: the critical path of the rest (a DP over the
    segments with unlimited machines) and the sequential optimum of the rest
    spread over the machines; the start is the DP's makespan. Single-factor
    eliminations only (as the reference's branch and bound).

    Parameters
    ----------
    factors, machines, memory_limit
        As for :func:`makespan_dp`.
    time_limit : float
        Seconds; when it runs out the best schedule so far is returned with
        ``finished=False``.

    Returns
    -------
    makespan : int
    nodes : dict
        The optimal tree, as in :func:`makespan_dp`; :func:`schedule` with
        ``policy="dp"`` need not reach ``makespan`` on it (its optimal
        schedule need not be series-parallel).
    finished : bool
        True if the search completed (the makespan is optimal).

    Examples
    --------
    >>> from collections import namedtuple
    >>> F = namedtuple("F", "n_in n_out tangent adjoint tape diagonal given")
    >>> chain = [F(8, 8, 100, 100, 1, False, False)] * 3
    >>> makespan_bnb(chain, 2)[0::2], makespan_dp(chain, 2)[0], makespan_dp(chain, None)[0]
    ((2112, True), 2112, 1824)
    """
    machines = _check_machines(machines)
    factors = _check_factors(factors)
    memory_limit = _check_memory(memory_limit)
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ChainoptError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    model = _Model(factors, memory_limit)
    q = model.q
    ub, nodes = makespan_dp(factors, machines, memory_limit=memory_limit)
    if machines is None or machines == 1 or q == 1:
        return ub, nodes, True  # the DP is exact here
    search = _BnB(model, min(machines, q), ub, nodes, time.monotonic() + time_limit)
    finished = search.run()
    return search.best, search.best_nodes, finished


class _BnB:
    def __init__(self, model, machines, ub, nodes, deadline):
        self.model = model
        self.p = machines
        self.best = ub
        self.best_nodes = dict(nodes)
        self.deadline = deadline
        self.ticks = 0
        self.seen = set()
        self.work_cache = {}
        q = model.q
        self.mulc = [[[model.mul(lo, k, hi) if lo <= k < hi else 0 for hi in range(q)]
                      for k in range(q)] for lo in range(q)]
        self.path = []

    def run(self):
        q = self.model.q
        segs = tuple((k, k, -1) for k in range(q))
        loads = (0,) * self.p
        self.root_lb = self._lower_bound(segs, loads)
        if self.root_lb >= self.best:
            return True
        try:
            self._dfs(segs, loads)
        except _Timeout:
            return False
        return True

    # lower bounds ---------------------------------------------------------
    def _work(self, shape):
        """Sequential optimum to finish segments ``shape`` ((lo, hi, accumulated) each)."""
        w = self.work_cache.get(shape)
        if w is not None:
            return w
        model, mulc = self.model, self.mulc
        s = len(shape)
        tab = [[0] * s for _ in range(s)]
        for a in range(s):
            lo, hi, done = shape[a]
            tab[a][a] = 0 if done else model.acc[lo]
        for length in range(2, s + 1):
            for a in range(s - length + 1):
                b = a + length - 1
                lo, hi = shape[a][0], shape[b][1]
                row = tab[a]
                best = min(row[c] + tab[c + 1][b] + mulc[lo][shape[c][1]][hi] for c in range(a, b))
                if not shape[b][2]:
                    best = min(best, row[b - 1] + model.tan(lo, hi))
                if not shape[a][2] and model.adj_ok[lo]:
                    best = min(best, tab[a + 1][b] + model.adj(lo, hi))
                row[b] = best
        w = tab[0][s - 1]
        self.work_cache[shape] = w
        return w

    def _critical(self, segs, now):
        model, mulc = self.model, self.mulc
        s = len(segs)
        tab = [[0] * s for _ in range(s)]
        for a in range(s):
            lo, hi, ready = segs[a]
            tab[a][a] = ready if ready >= 0 else now + model.acc[lo]
        for length in range(2, s + 1):
            for a in range(s - length + 1):
                b = a + length - 1
                lo, hi = segs[a][0], segs[b][1]
                row = tab[a]
                best = min(max(row[c], tab[c + 1][b]) + mulc[lo][segs[c][1]][hi]
                           for c in range(a, b))
                if segs[b][2] < 0:
                    best = min(best, row[b - 1] + model.tan(lo, hi))
                if segs[a][2] < 0 and model.adj_ok[lo]:
                    best = min(best, tab[a + 1][b] + model.adj(lo, hi))
                row[b] = best
        return tab[0][s - 1]

    def _lower_bound(self, segs, loads):
        shape = tuple((lo, hi, r >= 0) for lo, hi, r in segs)
        work = self._work(shape)
        p = self.p
        lb = -(-(sum(loads) + work) // p)
        return max(lb, loads[-1], self._critical(segs, loads[0]))

    # search ---------------------------------------------------------------
    def _moves(self, segs):
        model = self.model
        s = len(segs)
        for a in range(s):
            lo, hi, r = segs[a]
            if r < 0:
                yield a, a, "ACC", lo, lo, lo, 0, model.acc[lo]
            if a + 1 < s:
                _, hi2, r2 = segs[a + 1]
                if r >= 0 and r2 >= 0:
                    yield a, a + 1, "MUL", lo, hi, hi2, max(r, r2), self.mulc[lo][hi][hi2]
                elif r >= 0 and r2 < 0:
                    yield a, a + 1, "TAN", lo, hi, hi2, r, model.tan(lo, hi2)
                elif r < 0 and r2 >= 0 and model.adj_ok[lo]:
                    yield a, a + 1, "ADJ", lo, lo, hi2, r2, model.adj(lo, hi2)

    def _dfs(self, segs, loads):
        self.ticks += 1
        if self.ticks & 255 == 0 and time.monotonic() > self.deadline:
            raise _Timeout
        if len(segs) == 1 and segs[0][2] >= 0:
            if segs[0][2] < self.best:
                self.best = segs[0][2]
                self.best_nodes = {(lo, hi): (op, mid) for op, lo, mid, hi in self.path}
            return
        children = []
        for a, b, op, lo, mid, hi, ready, c in self._moves(segs):
            # one machine free by `ready` (all such are alike after rounding up), and each
            # distinct later free time
            tried = set()
            for w, load in enumerate(loads):
                start = max(load, ready)
                if start in tried:
                    continue
                tried.add(start)
                end = start + c
                if end >= self.best:
                    continue
                new_loads = tuple(sorted(max(x, start) for x in loads[:w] + (end,) + loads[w + 1:]))
                new_segs = tuple((x, y, max(z, start) if z >= 0 else -1)
                                 for x, y, z in segs[:a]) + ((lo, hi, end),) + tuple(
                    (x, y, max(z, start) if z >= 0 else -1) for x, y, z in segs[b + 1:])
                key = (new_segs, new_loads)
                if key in self.seen:
                    continue
                self.seen.add(key)
                lb = self._lower_bound(new_segs, new_loads)
                if lb >= self.best:
                    continue
                children.append((lb, start, end, new_segs, new_loads, (op, lo, mid, hi)))
        children.sort(key=lambda x: (x[0], x[1], x[2]))
        for lb, _, _, new_segs, new_loads, node in children:
            if lb >= self.best:
                break
            self.path.append(node)
            self._dfs(new_segs, new_loads)
            self.path.pop()
            if self.best <= self.root_lb:
                return

"""The optimal matrix-chain order in O(n log n): Hu & Shing's polygon triangulation.

The polygon view
----------------
A chain ``dims = (n_1, ..., n_N)`` is a convex polygon with ``N`` vertices
``0 .. N-1`` weighted ``dims[0] .. dims[N-1]``. Side ``(k, k+1)`` is factor
``k`` (shape ``(dims[k+1], dims[k])``) and the closing side ``(0, N-1)`` is the
whole product. A product of factors ``lo..hi`` is the diagonal ``(lo, hi+1)``
and its split at ``mid``, ``(A_hi..A_{mid+1}) @ (A_mid..A_lo)``, is the triangle
``(lo, mid+1, hi+1)``, which costs the product of its three weights,
``dims[hi+1] * dims[mid+1] * dims[lo]``. Bracketings and triangulations are in
one-to-one correspondence, with the same cost: the optimal order is the
minimum-weight triangulation of the polygon.

For the Cormen chain ``30, 35, 15, 5, 10, 20, 25`` the optimum (15125) is the
triangulation with triangles ``(0,1,3)``, ``(1,2,3)``, ``(0,3,6)``,
``(3,4,5)``, ``(3,5,6)``: triangle ``(0,3,6)`` is the last product
``(A5 A4 A3) @ (A2 A1 A0)`` (split ``(0, 2, 5)``), the diagonals ``(0,3)`` and
``(3,6)`` are its two halves, and ``(1,2,3)``, ``(3,4,5)`` are their first
products ``A2 A1`` and ``A4 A3`` (splits ``(1, 1, 2)`` and ``(3, 3, 4)``).

The algorithm
-------------
Rotate the polygon so that its lightest vertex ``V_0`` comes first. An arc
``(a, b)`` whose inner vertices are all heavier than both ends is a
*potential h-arc*; one left-to-right stack sweep finds all of them (at most
``N - 3``), nested like brackets, i.e. a tree. Hu & Shing prove that an
optimal triangulation is made of some of these arcs, each region between
kept arcs being the fan of its lightest vertex. Keeping arc ``h`` (with the
part below it triangulated at cost ``C``) beats fanning over it from an
outside vertex of weight ``x`` iff ``x > C / base``, where ``base`` is the
sum of the side products under ``h`` minus the product of its ends: that
ratio is the arc's *supporting weight*. Bottom-up over the tree, every arc
sees the (mergeable) priority queue of the arcs kept below it, drops those
whose supporting weight is at least the weight of its own lightest end, and
absorbs those whose supporting weight is at least its own. The arcs left at
the root, and the fans between them, are an optimal triangulation. The sweep,
the tree and the bottom-up pass are one loop over the vertices (the arcs come
out of the sweep children first). Every arc enters a queue once and leaves it
at most once; the queues are binary heaps (:mod:`heapq`) merged
small-into-large, so each arc moves O(log n) times: O(n log^2 n) time at
worst (Hu & Shing's O(n log n) bound needs mergeable heaps, slower in
Python), close to O(n log n) in practice. Memory is O(n), and there is no
recursion at all.

Exactness and ties
------------------
Costs and supporting weights are exact Python ints (the weights may be
arbitrarily large). A supporting weight ``num / den`` is never rounded: the
priority key is ``(num << K) // den`` with ``2**K > 2 * P**2``, where ``P``
bounds every denominator (the sum of all side products), so two different
ratios always get different keys in the same order and equal ratios equal
keys; the keep/drop/absorb decisions are taken by cross-multiplication.

The plan is a deterministic function of ``dims``, and invariant under
scaling all dims by a common factor. Ties are resolved as follows, and no
other tie rule is promised (in particular this is *not* numpy's
``multi_dot`` rule and not the DP's rule in :mod:`chainopt.strategies`):

1. ``V_0`` is the *first* position of ``min(dims)``; positions are then
   counted cyclically from it, and equal weights are ordered by that
   position (earlier = lighter). This order decides which arcs are
   potential h-arcs and which end of an arc is its lightest.
2. When an arc ``h`` examines its queue, a kept arc (group) whose
   supporting weight *equals* the weight of ``h``'s lightest end is dropped
   (the fan is taken), and then one whose supporting weight *equals* ``h``'s
   is absorbed into ``h`` (both are kept or dropped together).
3. Among equal supporting weights in a queue, the arc created first (the
   one with the smaller right end, or the inner one) is examined first.

Consequently a chain with all dims equal gets the fan of vertex 0, i.e.
forward mode ``A_{N-2} (... (A_2 (A_1 A_0)))``.

Performance
-----------
Measured on the project's 2-core machine (CPython 3.11, random dims in
``[1, 1000]``, cost and splits, best of several runs): 2 ms for 10^3
factors, 25 ms for 10^4, 0.27 s for 10^5, 3.0 s for 10^6 (about 5 s for
10^6 huge-int dims near ``10**30``). It is faster than the vectorised
O(n^3) DP (:func:`chainopt.strategies.optimal_cost_table`) at every length
from two factors up: 17 vs 50 us at 2 factors, 0.2 vs 2.5 ms at 100.

References
----------
T. C. Hu and M. T. Shing, "Computation of matrix chain products, Part I",
SIAM J. Comput. 11(2):362-373, 1982; "Part II", SIAM J. Comput.
13(2):228-251, 1984. T. D. Le and D. Gusfield, "Matrix chain multiplication
and polygon triangulation revisited and generalized", arXiv:2104.01777, 2021.
"""

from __future__ import annotations

import numbers
from heapq import heappop, heappush

import numpy as np

from chainopt.errors import DimensionError

__all__ = ["hu_shing"]


def _as_weights(dims) -> list[int]:
    """Return ``dims`` as a list of positive Python ints, or raise :class:`DimensionError`."""
    if isinstance(dims, np.ndarray):
        if dims.ndim != 1:
            raise DimensionError(f"dims must be one-dimensional, got shape {dims.shape}")
        if dims.dtype.kind in "iu":
            if dims.size and dims.min() < 1:
                raise DimensionError("dims must be positive integers (>= 1)")
            dims = dims.tolist()
    if isinstance(dims, (str, bytes)):
        raise DimensionError(f"dims must be a sequence of positive integers, got {dims!r}")
    try:
        weights = list(dims)
    except TypeError:
        raise DimensionError(
            f"dims must be a sequence of positive integers, got {type(dims).__name__}"
        ) from None
    for pos, value in enumerate(weights):
        if type(value) is int and value >= 1:
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise DimensionError(
                f"dims[{pos}] is {value!r} ({type(value).__name__}); dims must be positive integers"
            )
        value = int(value)
        if value < 1:
            raise DimensionError(f"dims[{pos}] is {value}; dims must be positive integers (>= 1)")
        weights[pos] = value
    if len(weights) < 2:
        raise DimensionError(f"a chain needs at least two dims, got {len(weights)}")
    return weights


def _kept_arcs(w: list[int]):
    """Run Hu & Shing on the rotated polygon ``w`` (``w[0]`` lightest): cost, kept arcs.

    Returns ``(cost, ku, kv, klow)``: the ends ``(ku[j], kv[j])`` of the
    potential h-arcs kept in the optimal triangulation, in creation order (by
    right end, then inner before outer), and the lightest end of each.
    """
    n = len(w)
    side_sum = [0] * (n + 1)  # side_sum[i] = sum of w[k] * w[k+1] for k < i (cyclic)
    acc = 0
    for k in range(n - 1):
        side_sum[k] = acc
        acc += w[k] * w[k + 1]
    side_sum[n - 1] = acc
    acc += w[n - 1] * w[0]
    side_sum[n] = acc
    perimeter = acc
    shift = 2 * perimeter.bit_length() + 2  # 2**shift > 2 * perimeter**2: exact keys
    id_bits = max(n.bit_length(), 1)
    id_mask = (1 << id_bits) - 1

    # Per arc h (ids in creation order): its ends, its group's num and den,
    # its fate, and the arcs below it on the per-vertex stacks of kept arcs.
    U = [0] * n
    V = [0] * n
    NUM = [0] * n
    DEN = [0] * n
    FATE = [-1] * n  # -1 kept head, -2 dropped, -3 absorbed by the root, else absorbing arc
    PREV_U = [0] * n
    PREV_V = [0] * n
    top = [-1] * n  # top[x]: outermost kept arc ending at x, so far
    # The unfinished tree: arcs not yet under a created arc, their left
    # ends, bases and queues (max-heaps of ints packing the key and the id).
    st_u: list[int] = []
    st_base: list[int] = []
    st_heap: list[list[int]] = []
    vertices = [0]  # the sweep's stack of vertices
    h = 0
    for i in range(1, n):
        wi = w[i]
        si = side_sum[i]
        while w[vertices[-1]] > wi:
            vertices.pop()
            a = vertices[-1]
            if not a:
                continue  # arcs at V_0 are edges of its fan anyway
            wa = w[a]
            mul = wa * wi
            base = si - side_sum[a] - mul
            if i - a == 2:
                # A leaf: the triangle (a, a+1, i).
                den = base
                num = mul * w[a + 1]
                heap = []
            else:
                st_u.pop()
                den = base - st_base.pop()
                heap = st_heap.pop()
                while st_u and st_u[-1] >= a:
                    st_u.pop()
                    den -= st_base.pop()
                    other = st_heap.pop()
                    if len(other) > len(heap):
                        heap, other = other, heap
                    for entry in other:
                        heappush(heap, entry)
                if wa <= wi:
                    low, wl, inner = a, wa, w[a + 1]
                else:
                    low, wl, inner = i, wi, w[i - 1]
                # Drop the arcs that the lightest end of h supports at least as well.
                while heap:
                    t = heap[0] & id_mask
                    if NUM[t] < wl * DEN[t]:
                        break
                    heappop(heap)
                    den += DEN[t]
                    FATE[t] = -2
                    top[U[t]] = PREV_U[t]
                    top[V[t]] = PREV_V[t]
                t = top[low]
                if t >= 0 and U[t] >= a:
                    num = wl * (den + mul - w[U[t]] * w[V[t]])
                else:
                    num = wl * (den + mul - wl * inner)
                # Absorb the arcs whose support is at least h's.
                while heap:
                    t = heap[0] & id_mask
                    if num * DEN[t] > NUM[t] * den:
                        break
                    heappop(heap)
                    den += DEN[t]
                    num += NUM[t]
                    FATE[t] = h
                    top[U[t]] = PREV_U[t]
                    top[V[t]] = PREV_V[t]
            U[h] = a
            V[h] = i
            NUM[h] = num
            DEN[h] = den
            PREV_U[h] = top[a]
            PREV_V[h] = top[i]
            top[a] = top[i] = h
            heappush(heap, ((((-num) << shift) // den) << id_bits) | h)
            st_u.append(a)
            st_base.append(base)
            st_heap.append(heap)
            h += 1
        vertices.append(i)

    # The root: the whole polygon, fanned from V_0.
    w0 = w[0]
    den = perimeter - w0 * w0
    heap = None
    for base in st_base:
        den -= base
    heap = []
    for other in st_heap:
        if len(other) > len(heap):
            heap, other = other, heap
        for entry in other:
            heappush(heap, entry)
    while heap:
        t = heap[0] & id_mask
        if NUM[t] < w0 * DEN[t]:
            break
        heappop(heap)
        den += DEN[t]
        FATE[t] = -2
    num = w0 * (den + w0 * w0 - w0 * w[1] - w0 * w[n - 1])
    while heap:
        t = heap[0] & id_mask
        if num * DEN[t] > NUM[t] * den:
            break
        heappop(heap)
        den += DEN[t]
        num += NUM[t]
        FATE[t] = -3
    cost = num
    for entry in heap:
        cost += NUM[entry & id_mask]

    # An arc is kept iff its group is: absorbing arcs come later than the absorbed.
    m = h
    keep = bytearray(m)
    for a in range(m - 1, -1, -1):
        f = FATE[a]
        if f == -1 or f == -3:
            keep[a] = 1
        elif f >= 0:
            keep[a] = keep[f]
    kept = [a for a in range(m) if keep[a]]
    low = [U[a] if w[U[a]] <= w[V[a]] else V[a] for a in kept]
    return cost, [U[a] for a in kept], [V[a] for a in kept], low


def _triangles(n: int, ku, kv, klow) -> tuple[list[int], list[int], list[int]]:
    """Return the triangles (rotated vertices) of the fans between the kept arcs.

    ``ku[j], kv[j]`` are the ends of the kept arcs, by right end then inner
    first, and ``klow[j]`` the end each region is fanned from.
    """
    ta: list[int] = []
    tb: list[int] = []
    tc: list[int] = []
    # Closing order: as given. Opening order: by left end, outer first.
    opening = np.lexsort((-np.array(kv, dtype=np.int64), np.array(ku, dtype=np.int64)))
    opening = [ku[j] for j in opening.tolist()] + [n]
    closing = kv + [n]
    ci = oi = 0
    regions = [[0]]
    for x in range(1, n):
        while closing[ci] == x:
            reg = regions.pop()
            reg.append(x)
            k = len(reg) - 2
            if klow[ci] == x:
                ta.extend([x] * k)
                tb.extend(reg[:-2])
                tc.extend(reg[1:-1])
            else:
                ta.extend([reg[0]] * k)
                tb.extend(reg[1:-1])
                tc.extend(reg[2:])
            ci += 1
        regions[-1].append(x)
        while opening[oi] == x:
            regions.append([x])
            oi += 1
    reg = regions.pop()
    k = len(reg) - 2
    ta.extend([0] * k)
    tb.extend(reg[1:-1])
    tc.extend(reg[2:])
    return ta, tb, tc


def hu_shing(dims) -> tuple[int, list[tuple[int, int, int]]]:
    """Return the optimal cost and bracketing of a chain, by Hu & Shing's algorithm.

    Parameters
    ----------
    dims : sequence of int
        ``(n_1, ..., n_N)``, input first, ``N >= 2``, positive integers of any
        size; factor ``k`` (0-based) has shape ``(dims[k+1], dims[k])``.

    Returns
    -------
    cost : int
        The least number of multiply-adds, exact.
    splits : list of tuple of int
        One ``(lo, mid, hi)`` per product (``N - 2`` of them, in no
        particular order): factors ``lo..hi`` are multiplied as
        ``(A_hi..A_{mid+1}) @ (A_mid..A_lo)``, at cost
        ``dims[hi+1] * dims[mid+1] * dims[lo]``. Ties are broken by the
        rule in the module docstring.

    Raises
    ------
    DimensionError
        If there are fewer than two dims or one is not a positive integer.

    Notes
    -----
    Time O(n log n) on random chains (O(n log^2 n) at worst), memory O(n),
    no recursion; see the module docstring for the algorithm and its
    references.

    Examples
    --------
    >>> d = [30, 35, 15, 5, 10, 20, 25]
    >>> cost, splits = hu_shing(d)
    >>> cost
    15125
    >>> sorted(splits)
    [(0, 0, 2), (0, 2, 5), (1, 1, 2), (3, 3, 4), (3, 4, 5)]
    >>> sum(d[hi + 1] * d[mid + 1] * d[lo] for lo, mid, hi in splits)
    15125
    >>> hu_shing([10, 100, 5, 50])
    (7500, [(0, 1, 2), (0, 0, 1)])
    >>> hu_shing([7, 3])
    (0, [])
    """
    w = _as_weights(dims)
    n = len(w)
    if n == 2:
        return 0, []
    s = w.index(min(w))
    rotated = w[s:] + w[:s]
    cost, ku, kv, klow = _kept_arcs(rotated)
    ta, tb, tc = _triangles(n, ku, kv, klow)
    tri = np.array([ta, tb, tc], dtype=np.int64)
    tri += s
    tri %= n
    tri.sort(axis=0)
    tri[1:] -= 1
    return cost, list(zip(*tri.tolist(), strict=True))

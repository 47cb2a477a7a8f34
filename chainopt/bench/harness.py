"""The benchmark harness: run every order on the same Jacobians and time it honestly.

The cost model says how many multiply-adds each order needs; this module
measures what they cost on this machine. It follows ``timeit``'s habits:
untimed warm-up calls, then ``repeats`` timed rounds with
``time.perf_counter``, interleaved across strategies (A B C A B C ...) so that
drift hits all of them alike; every repeat is kept; the summary reports the
minimum and the median; a :class:`TimingSpreadWarning` is issued when a
strategy's slowest repeat is over 4x its fastest.

Every strategy's result is checked against the naive product
``functools.reduce(np.matmul, written_order(mats))`` before timing: orders
that disagree beyond rounding raise :class:`~chainopt.ResultMismatchError`
(:mod:`chainopt.bench.check`). What is timed is built by
:mod:`chainopt.bench.workloads`; the result is a
:class:`~chainopt.bench.result.BenchmarkResult`.

The machine is recorded with the results (:func:`chainopt.bench.environment.machine_info`:
CPU, versions, the BLAS library and its thread count), and the peak matmul rate measured in the same run by a
large square product of the benchmark's dtype (repeated, before and after the strategies), so every row can
say which fraction of peak it reached; a strategy faster than the measured peak is reported as such (the
peak measurement was disturbed), never as over 100% of peak. Every time and ratio comes with its 95%
bootstrap interval (:mod:`chainopt.bench.intervals`).

pandas is imported lazily (by :mod:`chainopt.bench.result`): the core
(``chain``, ``plan``, ``strategies``, ``execute``) imports numpy only.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from chainopt.bench.check import check_results
from chainopt.bench.environment import machine_info
from chainopt.bench.result import BenchmarkResult, PeakRate, summary_table, times_table
from chainopt.bench.workloads import (
    DEFAULT_STRATEGIES,
    LAYER_KINDS,
    build_jacobians,
    check_strategies,
    network_dims,
    prepare_workload,
    timed_functions,
)
from chainopt.errors import ChainoptError, shorten
from chainopt.execution import MemoryEstimate, check_memory, seeded_rng, written_order

# BenchmarkResult, PeakRate (bench.result) and DEFAULT_STRATEGIES, LAYER_KINDS,
# build_jacobians, network_dims (bench.workloads) are re-exported: callers import them from here.
__all__ = [
    "benchmark",
    "BenchmarkResult",
    "PeakRate",
    "peak_matmul_rate",
    "time_interleaved",
    "balanced_orders",
    "autorange",
    "build_jacobians",
    "network_dims",
    "check_spread",
    "TimingSpreadWarning",
    "LAYER_KINDS",
    "DEFAULT_STRATEGIES",
    "SPREAD_LIMIT",
]

#: timeit's rule: warn when the slowest repeat is over this multiple of the fastest.
SPREAD_LIMIT = 4.0


class TimingSpreadWarning(RuntimeWarning):
    """A strategy's slowest repeat was over 4x its fastest: the timings may be unreliable."""


# -- the machine ---------------------------------------------------------------------


def peak_matmul_rate(
    size: int = 2000, *, repeats: int = 7, seed=0, budget: int | None = None, dtype=np.float64
) -> PeakRate:
    """Measure the matmul rate with a ``size x size`` product of ``dtype`` (warm-up, then ``repeats`` timed).

    Each measurement is primed by an untimed product and lasts at least
    :data:`PEAK_MIN_TIME` seconds (small products are repeated), as the
    strategies' are, so the peak is not measured colder than they are.

    The rate is that of the median repeat, with the 95% interval of the
    median (:mod:`chainopt.bench.intervals`; NaN with fewer than 6 repeats).

    Examples
    --------
    >>> peak = peak_matmul_rate(64, repeats=6)
    >>> peak.size, len(peak.seconds), peak.low <= peak.gflops <= peak.high
    (64, 6, True)
    """
    operands = _peak_operands(size, repeats, seed, budget, dtype)
    return PeakRate.from_seconds(operands[0].shape[0], _time_peak(operands, repeats), dtype=operands[0].dtype.name)


def _peak_operands(size, repeats, seed, budget, dtype):
    size = _count(size, "size", minimum=1)
    _count(repeats, "repeats", minimum=1)
    dtype = np.dtype(dtype)
    item = dtype.itemsize
    check_memory(MemoryEstimate(inputs=2 * item * size * size, intermediates=item * size * size, itemsize=item),
                 budget, what=f"the {size} x {size} peak-rate product")
    rng = seeded_rng(seed)
    return rng.standard_normal((size, size)).astype(dtype), rng.standard_normal((size, size)).astype(dtype)


#: Least seconds of one peak measurement: a lone call after idling waits for BLAS threads to wake
#: (a 128 x 128 product measured 16 ms alone, 2 ms in a loop), so the product is primed and repeated.
PEAK_MIN_TIME = 0.05


def _time_peak(operands, repeats: int) -> list[float]:
    a, b = operands
    funcs = {"peak": lambda: a @ b}
    funcs["peak"]()
    return time_interleaved(funcs, repeats=repeats, warmup=1, prime=True,
                            number=autorange(funcs, PEAK_MIN_TIME))["peak"]


# -- timing --------------------------------------------------------------------------


def _count(value, name: str, *, minimum: int, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ChainoptError(f"{name} is {shorten(repr(value))}; expected an integer >= {minimum}{hint}")
    return int(value)


def autorange(funcs: Mapping[str, Callable[[], object]], min_time: float,
              *, timer: Callable[[], float] = time.perf_counter) -> dict[str, int]:
    """Calls per measurement for each function, so that one measurement takes at least ``min_time`` s.

    timeit's idea: a cheap function is timed over many calls, so a cold
    first call and the clock's resolution are amortized. Each function is
    timed once (after the caller's warm-up) to choose its count.

    Examples
    --------
    >>> autorange({"fast": lambda: None}, 0.0)
    {'fast': 1}
    """
    numbers = {}
    for name, f in funcs.items():
        start = timer()
        f()
        once = max(timer() - start, 1e-9)
        numbers[name] = max(1, min(10**6, math.ceil(min_time / once)))
    return numbers


def time_interleaved(
    funcs: Mapping[str, Callable[[], object]],
    *,
    repeats: int = 7,
    warmup: int = 1,
    number: int | Mapping[str, int] = 1,
    prime: bool = True,
    rotate: bool = True,
    progress: Callable[[str], None] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Time each function ``repeats`` times, interleaved A B C A B C ..., after ``warmup`` untimed rounds.

    Returns every repeat's seconds **per call**, per name, in order: a
    measurement runs the function ``number`` times (one count for all, or one
    per name, see :func:`autorange`) and is divided by it. Each call's result
    is discarded inside the timed interval, so freeing it is timed too.

    Two guards against one function's time depending on its neighbour (a
    cheap order timed right after an expensive one finds its operands
    evicted from the caches and needs several calls to recover: on a
    1 -> 200 -> ... -> 1000 chain the optimal plan, identical to fwd, measured
    1.65-2x fwd's time when timed once right after bwd's 800M multiply-adds):

    - ``prime``: each measurement is preceded by one untimed call of the same function;
    - ``rotate``: the rounds follow a balanced order (:func:`balanced_orders`,
      a Williams design: A B C, B C A, C A B, then the three reversed), in
      which every function comes right after every other equally often and
      holds every place equally often, so neither a neighbour's cache
      damage nor drift favours one of them. (A plain rotation keeps who
      follows whom: with three functions, A then always follows C within a
      round.)

    Examples
    --------
    >>> calls = []
    >>> times = time_interleaved({"A": lambda: calls.append("A"), "B": lambda: calls.append("B")},
    ...                          repeats=2, warmup=1, prime=False, rotate=False)
    >>> "".join(calls), [len(t) for t in times.values()]
    ('ABABAB', [2, 2])
    """
    repeats = _count(repeats, "repeats", minimum=1)
    warmup = _count(warmup, "warmup", minimum=0)
    numbers = {name: _count(number[name] if isinstance(number, Mapping) else number, "number", minimum=1)
               for name in funcs}
    for _ in range(warmup):
        for f in funcs.values():
            f()
    times: dict[str, list[float]] = {name: [] for name in funcs}
    items = list(funcs.items())
    orders = balanced_orders(len(items)) if rotate else [list(range(len(items)))]
    for r in range(repeats):
        if progress is not None:
            progress(f"repeat {r + 1}/{repeats}")
        for name, f in (items[i] for i in orders[r % len(orders)]):
            if prime:
                f()
            calls = range(numbers[name])
            start = timer()
            for _ in calls:
                f()
            times[name].append((timer() - start) / numbers[name])
    return times


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` functions for successive rounds, balanced for who comes right after whom.

    A Williams design: the first order is ``0, 1, n-1, 2, n-2, ...``, order
    ``r`` adds ``r`` to every entry (mod ``n``), and for odd ``n`` the ``n``
    orders are followed by their reverses. Over a full cycle (``n`` rounds, or
    ``2n`` for odd ``n``) every ordered pair of distinct functions is adjacent
    within a round the same number of times, and every function holds every
    place equally often.

    Examples
    --------
    >>> balanced_orders(2), balanced_orders(4)
    ([[0, 1], [1, 0]], [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]])
    >>> balanced_orders(3)
    [[0, 1, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2]]
    """
    if n <= 1:
        return [list(range(n))]
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    orders = [[(i + r) % n for i in first] for r in range(n)]
    return orders + [order[::-1] for order in orders] if n % 2 else orders


def check_spread(
    times: Mapping[str, Sequence[float]], *, limit: float = SPREAD_LIMIT, stacklevel: int = 2
) -> list[str]:
    """Warn (:class:`TimingSpreadWarning`) for every name whose slowest time is over ``limit`` x its fastest.

    Returns the names warned about.

    Examples
    --------
    >>> check_spread({"fwd": [1.0, 1.2, 3.9]})
    []
    """
    flagged = []
    for name, ts in times.items():
        fastest, slowest = min(ts), max(ts)
        if slowest > limit * fastest:
            flagged.append(name)
            warnings.warn(
                TimingSpreadWarning(
                    f"{name}: the slowest repeat ({slowest:.3g} s) is {slowest / fastest:.1f}x the fastest "
                    f"({fastest:.3g} s), over timeit's {limit:g}x limit; the timings may be unreliable "
                    "(other load on the machine, frequency scaling, a cold cache)"
                ),
                stacklevel=stacklevel,
            )
    return flagged


# -- the harness ---------------------------------------------------------------------


def benchmark(
    chain_or_mats,
    *,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    repeats: int = 7,
    warmup: int = 1,
    seed=0,
    dtype=np.float64,
    layers: str = "random",
    activation: str = "tanh",
    peak_size: int | None = 2000,
    budget: int | None = None,
    prime: bool = True,
    min_time: float = 0.02,
    progress: Callable[[str], None] | None = None,
) -> BenchmarkResult:
    """Execute several orders on the same Jacobians, check they agree, and time them.

    Parameters
    ----------
    chain_or_mats : Chain, sequence of int, or sequence of arrays
        Dims (input first), from which Jacobians are built as ``layers``
        says, or the Jacobians themselves in layer order.
    strategies : sequence of str
        Names in :data:`chainopt.STRATEGIES` and ``'multi_dot'`` (numpy's
        ``multi_dot``, an execution-only baseline).
    repeats, warmup : int
        Timed rounds and untimed warm-up rounds (after one checked run).
    seed : int
        Seeds the Jacobians (and the point x for real layers).
    dtype : {numpy.float64, numpy.float32}
        For built Jacobians.
    layers : {'random', 'mlp', 'resnet'}
        ``'random'``: :func:`~chainopt.random_jacobians` on the dims.
        ``'mlp'``: the Jacobians of ``layers.mlp(dims, activation, seed)`` at a
        random point; dense and activation are separate layers, so the chain
        executed is ``n_1, n_2, n_2, ..., n_{N-1}, n_{N-1}, n_N``.
        ``'resnet'``: ``layers.resnet(n, len(dims) - 1, seed)``; needs all
        dims equal to ``n``.
    activation : str
        For real layers.
    peak_size : int or None
        Side of the square product (in the benchmark's dtype) that measures the peak rate,
        ``repeats`` times before and again after the strategies; ``None`` skips it.
        The default 2000 is 8e9 multiply-adds per product (a few tenths of a
        second on one core each, and 96 MB for the three float64 operands):
        pass ``None`` when the fraction of peak is not wanted.
    budget : int or None
        Bytes allowed for everything the run allocates; ``None``: the default.
    prime : bool
        Precede every timed call by an untimed call of the same strategy, so
        each is timed with its own operands in cache (see :func:`time_interleaved`).
    min_time : float
        Seconds one measurement should last at least: a strategy faster
        than this is called several times per measurement (:func:`autorange`)
        and the time divided; 0 times single calls.
    progress : callable or None
        Called with a short message at each stage (the library never prints).

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    ResultMismatchError
        If a strategy's result differs from the reference by more than the
        rounding-error bound ``2 m eps (|A_{N-1}| ... |A_1|)`` entry by entry,
        ``m`` the sum of the inner dims (any order's error is below half).
    MemoryBudgetError, ShapeError, UnknownStrategyError, NonFiniteError

    Examples
    --------
    >>> res = benchmark([20, 30, 5, 30, 20], repeats=1, peak_size=None)  # one repeat: no spread to warn of
    >>> res.summary[["strategy", "plan", "madds"]]
        strategy             plan  madds
    0        fwd  A4 (A3 (A2 A1))  18000
    1        bwd  ((A4 A3) A2) A1  18000
    2    optimal  (A4 A3) (A2 A1)   8000
    3  multi_dot  numpy's optimal   8000
    >>> len(res.times), bool((res.summary["max_rel_diff"] < 1e-12).all())
    (4, True)
    """
    strategies = check_strategies(strategies)
    repeats = _count(repeats, "repeats", minimum=1)
    warmup = _count(warmup, "warmup", minimum=0)
    if peak_size is not None:
        peak_size = _count(peak_size, "peak_size", minimum=1, hint=" (or peak_size=None to skip the peak measurement)")
    say = progress or (lambda message: None)
    # Everything is checked, memory included, before any heavy work.
    workload = prepare_workload(chain_or_mats, layers=layers, dtype=dtype, strategies=strategies, budget=budget)
    chain = workload.chain

    peak_operands = peak_before = None
    if peak_size is not None:
        say(f"measuring the peak matmul rate ({peak_size} x {peak_size} {workload.dtype.name}, {repeats} repeats)")
        peak_operands = _peak_operands(peak_size, repeats, seed, budget, workload.dtype)
        peak_before = _time_peak(peak_operands, repeats)
    if workload.given is None:
        say(f"building {layers} Jacobians")
    arrays, described = workload.jacobians(seed=seed, activation=activation, budget=budget,
                                           strategies=[*strategies, "bwd"])  # the reference runs in bwd's order
    timed = timed_functions(chain, arrays, strategies, budget)

    say("computing the reference product and checking every strategy against it")
    rel_diff = check_results(timed.funcs, written_order(arrays), chain, timed.plans)

    say(f"timing {', '.join(strategies)}: {warmup} warm-up round(s), {repeats} interleaved repeats")
    numbers = autorange(timed.funcs, min_time)
    times = time_interleaved(timed.funcs, repeats=repeats, warmup=warmup, number=numbers, prime=prime, progress=say)
    check_spread(times, stacklevel=3)
    peak = None
    if peak_operands is not None:
        say("measuring the peak matmul rate again, after the strategies")
        peak = PeakRate.from_seconds(peak_size, peak_before, _time_peak(peak_operands, repeats),
                                     dtype=workload.dtype.name)
        del peak_operands
    return BenchmarkResult(
        chain=chain,
        layers=described,
        dtype=workload.dtype.name,
        repeats=repeats,
        warmup=warmup,
        prime=prime,
        times=times_table(times, numbers),
        summary=summary_table(times, timed.plans, timed.madds, rel_diff, peak),
        peak=peak,
        machine=machine_info(),
    )

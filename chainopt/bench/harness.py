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
that disagree beyond rounding raise :class:`~chainopt.ResultMismatchError`.

The machine is recorded with the results (:func:`chainopt.bench.environment.machine_info`:
CPU, versions, the BLAS library and its thread count), and the peak matmul rate measured in the same run by a large square
product of the benchmark's dtype, so every row can say which fraction of peak it reached.

pandas is imported lazily here: this is the reporting layer, the core
(``chain``, ``plan``, ``strategies``, ``execute``) imports numpy only.
"""

from __future__ import annotations

import functools
import io
import json
import math
import numbers
import statistics
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.chain import Chain, as_chain
from chainopt.bench.environment import machine_info
from chainopt.errors import ChainoptError, ResultMismatchError, UnknownStrategyError
from chainopt.execution import (
    BASELINES,
    MULTI_DOT_MAX_FACTORS,
    MemoryEstimate,
    check_jacobians,
    check_memory,
    default_budget,
    execute,
    memory_estimate,
    random_jacobians,
    seeded_rng,
    written_order,
)
from chainopt.core.strategies import STRATEGIES, get_strategy

__all__ = [
    "benchmark",
    "BenchmarkResult",
    "PeakRate",
    "peak_matmul_rate",
    "time_interleaved",
    "autorange",
    "build_jacobians",
    "network_dims",
    "check_spread",
    "TimingSpreadWarning",
    "LAYER_KINDS",
    "DEFAULT_STRATEGIES",
    "SPREAD_LIMIT",
]

#: What :func:`benchmark` runs unless told otherwise.
DEFAULT_STRATEGIES = ("fwd", "bwd", "optimal", "multi_dot")

#: Where the Jacobians come from (see :func:`benchmark`).
LAYER_KINDS = ("random", "mlp", "resnet")

#: timeit's rule: warn when the slowest repeat is over this multiple of the fastest.
SPREAD_LIMIT = 4.0


class TimingSpreadWarning(RuntimeWarning):
    """A strategy's slowest repeat was over 4x its fastest: the timings may be unreliable."""


# -- the machine ---------------------------------------------------------------------


@dataclass(frozen=True)
class PeakRate:
    """The machine's matmul rate on a large square product.

    Attributes
    ----------
    gflops : float
        ``2 * size**3 / seconds / 1e9``, from the fastest repeat.
    size : int
        The side of the square matrices.
    seconds : tuple of float
        Every timed repeat.
    dtype : str
        The dtype of the product (float32 runs about twice as fast as float64).
    """

    gflops: float
    size: int
    seconds: tuple[float, ...]
    dtype: str = "float64"


def peak_matmul_rate(
    size: int = 2000, *, repeats: int = 3, seed=0, budget: int | None = None, dtype=np.float64
) -> PeakRate:
    """Measure the matmul rate with a ``size x size`` product of ``dtype`` (one warm-up, best of ``repeats``).

    Examples
    --------
    >>> peak = peak_matmul_rate(64, repeats=2)
    >>> peak.size, len(peak.seconds), peak.gflops > 0
    (64, 2, True)
    """
    size = _count(size, "size", minimum=1)
    repeats = _count(repeats, "repeats", minimum=1)
    dtype = np.dtype(dtype)
    item = dtype.itemsize
    check_memory(MemoryEstimate(inputs=2 * item * size * size, intermediates=item * size * size, itemsize=item),
                 budget, what=f"the {size} x {size} peak-rate product")
    rng = seeded_rng(seed)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    times = time_interleaved({"peak": lambda: a @ b}, repeats=repeats, warmup=1, prime=False)["peak"]
    return PeakRate(gflops=2 * size**3 / min(times) / 1e9, size=size, seconds=tuple(times), dtype=dtype.name)


# -- timing --------------------------------------------------------------------------


def _count(value, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ChainoptError(f"{name} is {value!r}; expected an integer >= {minimum}")
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
    - ``rotate``: round ``r`` starts at the ``r``-th function (A B C, B C A,
      C A B, ...), so every function follows every other equally often and
      drift still hits all alike.

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
    order = list(funcs.items())
    for r in range(repeats):
        if progress is not None:
            progress(f"repeat {r + 1}/{repeats}")
        shift = r % len(order) if rotate else 0
        for name, f in order[shift:] + order[:shift]:
            if prime:
                f()
            calls = range(numbers[name])
            start = timer()
            for _ in calls:
                f()
            times[name].append((timer() - start) / numbers[name])
    return times


def check_spread(times: Mapping[str, Sequence[float]], *, limit: float = SPREAD_LIMIT, stacklevel: int = 2) -> list[str]:
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


def _is_dims(obj) -> bool:
    if isinstance(obj, Chain):
        return True
    if isinstance(obj, np.ndarray):
        return obj.ndim == 1 and obj.dtype.kind in "iu"
    try:
        return len(obj) > 0 and all(isinstance(d, numbers.Integral) for d in obj)
    except TypeError:
        return False


def network_dims(dims: tuple[int, ...], layers: str) -> tuple[int, ...]:
    """The chain a network of kind ``layers`` built on ``dims`` has (see :func:`benchmark`).

    Examples
    --------
    >>> network_dims((784, 512, 10), "mlp"), network_dims((5, 5, 5), "resnet"), network_dims((3, 4), "random")
    ((784, 512, 512, 10), (5, 5, 5), (3, 4))
    """
    if layers == "random":
        return tuple(dims)
    if layers == "mlp":
        return (dims[0], *(d for d in dims[1:-1] for _ in range(2)), dims[-1])
    if len(set(dims)) != 1:
        raise ChainoptError(
            f"--layers resnet needs equal dims (a residual block maps R^n to R^n), got {' '.join(map(str, dims))}; "
            "give e.g. 500 500 500 500 for 3 blocks of width 500"
        )
    return dims


def build_jacobians(dims, layers: str = "random", *, seed=0, dtype=np.float64, activation: str = "tanh",
                    budget: int | None = None, strategies: Sequence[str] = ("fwd", "bwd", "optimal")):
    """``(mats, description)``: the Jacobians :func:`benchmark` runs for ``dims`` and a kind of layers.

    ``'random'`` gives exactly ``dims``; ``'mlp'`` the chain
    ``n_1, n_2, n_2, ..., n_N`` of ``layers.mlp(dims, activation, seed)`` at a
    seeded random point; ``'resnet'`` needs equal dims.

    Examples
    --------
    >>> mats, what = build_jacobians([5, 4, 3], "mlp", seed=0)
    >>> [a.shape for a in mats], what
    ([(4, 5), (4, 4), (3, 4)], "mlp([5, 4, 3], 'tanh'): Dense and tanh Jacobians at a random x")
    """
    from chainopt import layers as L

    if layers not in LAYER_KINDS:
        raise ChainoptError(f"unknown layers {layers!r}; choose one of: {', '.join(LAYER_KINDS)}")
    dims = as_chain(dims).dims
    if layers == "resnet":
        network_dims(dims, layers)  # equal dims, or a clear error

    if layers == "random":
        mats = random_jacobians(dims, seed=seed, dtype=dtype, budget=budget, strategies=strategies)
        return mats, "random normal, variance 1/n_k"
    if layers == "mlp":
        net = L.mlp(dims, activation=activation, seed=seed, dtype=dtype)
        what = f"mlp({list(dims)}, {activation!r}): Dense and {activation} Jacobians at a random x"
    else:
        net = L.resnet(dims[0], len(dims) - 1, seed=seed, activation=activation, dtype=dtype)
        what = f"resnet({dims[0]}, {len(dims) - 1} blocks, {activation!r}) Jacobians at a random x"
    x = seeded_rng(seed).standard_normal(dims[0]).astype(dtype)
    return net.jacobians(x), what


def _abs_product(written: list[np.ndarray]) -> np.ndarray:
    """``|A_{N-1}| @ ... @ |A_1|``, one absolute copy at a time (the rounding-error scale)."""
    out = np.abs(written[0])
    for a in written[1:]:
        out = out @ np.abs(a)
    return out


@dataclass(frozen=True, eq=False)
class BenchmarkResult:
    """Every measured repeat, the summary, and the machine they were measured on.

    Attributes
    ----------
    chain : Chain
        The chain that was executed.
    layers : str
        Where the Jacobians came from.
    dtype : str
        The result dtype.
    repeats, warmup : int
    prime : bool
        Whether each timed call was preceded by an untimed call of the same strategy.
    times : pandas.DataFrame
        Tidy, one row per (strategy, repeat): ``strategy``, ``repeat`` (0-based,
        in the order run), ``number`` (calls in the measurement) and
        ``seconds`` (per call).
    summary : pandas.DataFrame
        One row per strategy: ``plan``, ``madds`` (predicted multiply-adds,
        exact), ``min_s``, ``median_s``, ``max_s``, ``spread`` (max/min),
        ``gflops`` (``2 * madds / median_s / 1e9``), ``vs_fastest`` (median over
        the fastest median), ``madds_vs_fewest`` (madds over the fewest),
        ``peak_fraction`` (``gflops`` over the peak rate, measured in the same dtype) and
        ``max_rel_diff`` (``max|R - ref| / max|ref|`` against the reference).
    peak : PeakRate or None
        ``None`` when the peak measurement was skipped.
    machine : dict
        :func:`chainopt.bench.environment.machine_info`: date, CPU, cores, OS,
        versions, ``blas`` and ``blas_threads``.
    """

    chain: Chain
    layers: str
    dtype: str
    repeats: int
    warmup: int
    prime: bool
    times: object
    summary: object
    peak: PeakRate | None
    machine: dict

    def header(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs describing the run (the text view's header)."""
        c = self.chain
        m = self.machine
        threads = m.get("blas_threads") or "unknown"
        peak = (
            "not measured"
            if self.peak is None
            else f"{self.peak.gflops:,.1f} GFLOP/s ({self.peak.size} x {self.peak.size} {self.peak.dtype} @, "
            f"best of {len(self.peak.seconds)})"
        )
        return [
            ("machine", f"{m['cpu']}, {m['cores']} cores, {m['os']}"),
            ("BLAS", m["blas"]),
            ("BLAS threads", str(threads)),
            ("peak matmul rate", peak),
            ("chain", f"{c}  ({c.n_factors} factor{'s' * (c.n_factors != 1)}, Jacobian {c.shape[0]} x {c.shape[1]})"),
            ("layers", self.layers),
            ("dtype", self.dtype),
            ("repeats", f"{self.repeats} per strategy, interleaved and rotated"
                        f"{', each primed by an untimed call' if self.prime else ''}; {self.warmup} warm-up round(s) first"),
            ("calls per repeat", ", ".join(f"{n} {k}" for n, k in
                                           self.times.groupby("strategy", sort=False)["number"].first().items())),
        ]

    def format(self, fmt: str = "text") -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        renderers = {"text": self.to_text, "markdown": self.to_markdown, "csv": self.to_csv, "json": self.to_json}
        if fmt not in renderers:
            raise ChainoptError(f"unknown format {fmt!r}; choose one of: {', '.join(renderers)}")
        return renderers[fmt]()

    def to_text(self) -> str:
        """Aligned text: a right-aligned header, a rule, one row per strategy (times in ms)."""
        header = self.header()
        width = max(len(label) for label, _ in header)
        lines = [f"{label:>{width}}:  {value}" for label, value in header]
        table = [("strategy", "plan", "multiply-adds", "min ms", "median ms", "max ms", "GFLOP/s",
                  "% peak", "x fastest", "max rel diff")]
        for r in self.summary.to_dict("records"):
            plan = r["plan"] if len(r["plan"]) <= 40 else r["plan"][:37] + "..."
            table.append((
                r["strategy"], plan, f"{r['madds']:,}", f"{r['min_s'] * 1e3:.3f}", f"{r['median_s'] * 1e3:.3f}",
                f"{r['max_s'] * 1e3:.3f}", f"{r['gflops']:.2f}",
                "-" if np.isnan(r["peak_fraction"]) else f"{100 * r['peak_fraction']:.1f}",
                f"{r['vs_fastest']:.2f}", f"{r['max_rel_diff']:.1e}",
            ))
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        align = "<<>>>>>>>>"
        body = ["  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths)).rstrip() for row in table]
        rule = "-" * max(len(line) for line in lines + body)
        return "\n".join(lines + [rule] + body[:1] + [rule] + body[1:])

    def to_markdown(self) -> str:
        """A two-column header table, then the summary table (exact values)."""
        from chainopt.report.cost import markdown_table

        header = [{"": label, "value": value} for label, value in self.header()]
        rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in self.summary.to_dict("records")]
        return markdown_table(header) + "\n\n" + markdown_table(rows)

    def _context(self) -> dict:
        return {
            "chain": ",".join(map(str, self.chain.dims)),
            "layers": self.layers,
            "dtype": self.dtype,
            "blas": self.machine["blas"],
            "threads": self.machine["blas_threads"],
            "peak_gflops": None if self.peak is None else self.peak.gflops,
        }

    def to_csv(self) -> str:
        """CSV of the summary, one row per strategy, with the run's context in every row."""
        table = self.summary.copy()
        for i, (key, value) in enumerate(self._context().items()):
            table.insert(i, key, value)
        buffer = io.StringIO()
        table.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def to_dict(self) -> dict:
        """Plain Python data: the context, the summary and every repeat."""
        def plain(v):
            v = v.item() if hasattr(v, "item") else v
            return None if isinstance(v, float) and math.isnan(v) else v  # JSON has no NaN

        def records(df):
            return [{k: plain(v) for k, v in r.items()} for r in df.to_dict("records")]

        return {
            **self._context(),
            "chain": list(self.chain.dims),
            "machine": self.machine,
            "repeats": self.repeats,
            "warmup": self.warmup,
            "prime": self.prime,
            "summary": records(self.summary),
            "times": records(self.times),
        }

    def to_json(self) -> str:
        """JSON of :meth:`to_dict` (multiply-adds are exact JSON integers)."""
        return json.dumps(self.to_dict(), indent=2)


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
        Side of the square product (in the benchmark's dtype) that measures the peak rate;
        ``None`` skips it.
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
    import pandas as pd

    from chainopt.report.cost import exact_int_column

    strategies = list(strategies)
    if not strategies:
        raise UnknownStrategyError("no strategies to benchmark; choose from: " + ", ".join([*STRATEGIES, *BASELINES]))
    for name in strategies:
        if name not in STRATEGIES and name not in BASELINES:
            raise UnknownStrategyError(
                f"unknown strategy {name!r}; choose one of: {', '.join([*STRATEGIES, *BASELINES])}"
            )
    if len(set(strategies)) != len(strategies):
        raise UnknownStrategyError(f"strategies {strategies} name one strategy twice")
    repeats = _count(repeats, "repeats", minimum=1)
    warmup = _count(warmup, "warmup", minimum=0)
    say = progress or (lambda message: None)

    # Everything is checked, memory included, before any heavy work.
    checks = [*strategies, "bwd"]  # the reference is computed in reverse-mode order
    build = _is_dims(chain_or_mats)
    if build:
        dims = as_chain(chain_or_mats).dims
        if layers not in LAYER_KINDS:
            raise ChainoptError(f"unknown layers {layers!r}; choose one of: {', '.join(LAYER_KINDS)}")
        result_dtype = np.dtype(dtype)
        if result_dtype not in (np.float32, np.float64):
            raise ChainoptError(f"dtype {result_dtype} is not supported; use float64 or float32")
        chain = Chain(network_dims(dims, layers))
    else:
        chain = Chain.from_jacobians(chain_or_mats)
        arrays = check_jacobians(chain, chain_or_mats, check_finite=True)
        result_dtype = np.result_type(*arrays)
    if "multi_dot" in strategies and chain.n_factors > MULTI_DOT_MAX_FACTORS:
        raise ChainoptError(
            f"multi_dot searches the order again on every call, in pure Python (O(N^3)); on {chain.n_factors:,} "
            f"factors its time would measure that search, not the product. It is benchmarked on chains of at "
            f"most {MULTI_DOT_MAX_FACTORS} factors: leave it out of strategies"
        )
    est = memory_estimate(chain, dtype=result_dtype, strategies=checks, inputs=build)
    # a network's parameters and its Jacobians exist at once; the check needs the
    # reference, the error scale and one result, each of the Jacobian's size
    inputs = est.inputs * (1 if layers == "random" else 2)
    out_bytes = chain.n_out * chain.n_in * result_dtype.itemsize
    check_memory(MemoryEstimate(inputs, est.intermediates + 3 * out_bytes, est.itemsize), budget,
                 what=f"benchmarking {chain}")

    peak = None
    if peak_size is not None:
        say(f"measuring the peak matmul rate ({peak_size} x {peak_size} {result_dtype.name})")
        peak = peak_matmul_rate(peak_size, budget=budget, dtype=result_dtype)

    if build:
        say(f"building {layers} Jacobians")
        mats, described = build_jacobians(dims, layers, seed=seed, dtype=result_dtype, activation=activation,
                                          budget=budget, strategies=checks)
        arrays = check_jacobians(chain, mats, check_finite=True)
    else:
        described = "given"
    exec_budget = default_budget() if budget is None else budget  # resolved once, not per timed call

    written = written_order(arrays)
    funcs: dict[str, Callable[[], np.ndarray]] = {}
    plans: dict[str, str] = {}
    madds: dict[str, int] = {}
    for name in strategies:
        if name == "multi_dot":
            optimal = get_strategy("optimal")(chain)
            funcs[name] = (lambda: np.linalg.multi_dot(written)) if len(written) > 1 else (lambda: written[0].copy())
            plans[name], madds[name] = "numpy's optimal", optimal.cost
        else:
            p = get_strategy(name)(chain)
            funcs[name] = functools.partial(execute, p, arrays, check_finite=False, budget=exec_budget)
            plans[name], madds[name] = str(p), p.cost

    say("computing the reference product and checking every strategy against it")
    reference = functools.reduce(np.matmul, written)
    ref_size = float(np.max(np.abs(reference))) if reference.size else 0.0
    scale = _abs_product(written)
    eps = float(np.finfo(result_dtype).eps) if result_dtype.kind in "fc" else 0.0
    inner = sum(chain.dims[1:-1])
    bound = 2 * inner * eps * scale
    rel_diff = {}
    for name, f in funcs.items():
        err = np.abs(f() - reference)
        rel_diff[name] = float(err.max()) / ref_size if ref_size else float(err.max())
        if not (err <= bound).all():
            k = np.unravel_index(np.argmax(err - bound), err.shape)
            raise ResultMismatchError(
                f"strategy {name!r} ({plans[name]}) disagrees with the reference product "
                f"functools.reduce(np.matmul, written order) at entry {tuple(map(int, k))}: difference "
                f"{err[k]:.3g} exceeds the rounding bound {bound[k]:.3g} (max relative difference "
                f"{rel_diff[name]:.3g})"
            )
        del err
    del reference, scale, bound

    say(f"timing {', '.join(strategies)}: {warmup} warm-up round(s), {repeats} interleaved repeats")
    numbers = autorange(funcs, min_time)
    times = time_interleaved(funcs, repeats=repeats, warmup=warmup, number=numbers, prime=prime, progress=say)
    check_spread(times, stacklevel=3)

    rows = [(name, r, numbers[name], t) for name in strategies for r, t in enumerate(times[name])]
    tidy = pd.DataFrame(rows, columns=["strategy", "repeat", "number", "seconds"])
    medians = {name: statistics.median(times[name]) for name in strategies}
    fastest = min(medians.values())
    fewest = min(madds.values())
    summary = pd.DataFrame({
        "strategy": strategies,
        "plan": [plans[n] for n in strategies],
        "madds": exact_int_column([madds[n] for n in strategies]),
        "min_s": [min(times[n]) for n in strategies],
        "median_s": [medians[n] for n in strategies],
        "max_s": [max(times[n]) for n in strategies],
        "spread": [max(times[n]) / min(times[n]) for n in strategies],
        "gflops": [2 * madds[n] / medians[n] / 1e9 for n in strategies],
        "vs_fastest": [medians[n] / fastest for n in strategies],
        "madds_vs_fewest": [madds[n] / fewest if fewest else 1.0 for n in strategies],
        "peak_fraction": [
            (2 * madds[n] / medians[n] / 1e9) / peak.gflops if peak else float("nan") for n in strategies
        ],
        "max_rel_diff": [rel_diff[n] for n in strategies],
    })
    return BenchmarkResult(
        chain=chain,
        layers=described,
        dtype=result_dtype.name,
        repeats=repeats,
        warmup=warmup,
        prime=prime,
        times=tidy,
        summary=summary,
        peak=peak,
        machine=machine_info(),
    )

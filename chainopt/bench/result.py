"""What a benchmark returns: every repeat, the summary, the machine; rendered by :mod:`chainopt.report.render`.

pandas is imported lazily: this is the reporting side of the harness.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chainopt.bench.intervals import (
    INTERVAL_METHOD,
    MIN_REPEATS,
    NO_DIFFERENCE,
    format_interval,
    format_ratio,
    median_interval,
    ratio_interval,
    ratio_verdict,
)
from chainopt.core.chain import Chain
from chainopt.report.render import Column, Document, Table, exact_int_column, plain, records, render

__all__ = ["PeakRate", "BenchmarkResult", "times_table", "summary_table", "above_peak_note"]


@dataclass(frozen=True)
class PeakRate:
    """The machine's matmul rate on a large square product, measured before and after the strategies.

    Attributes
    ----------
    gflops : float
        ``2 * size**3 / median / 1e9`` from the better (faster) of the two
        measurements' median repeat.
    size : int
        The side of the square matrices.
    seconds : tuple of float
        Every timed repeat of the measurement before the strategies.
    dtype : str
        The dtype of the product (float32 runs about twice as fast as float64).
    seconds_after : tuple of float
        Every timed repeat of the measurement after the strategies (empty if not taken).
    low, high : float
        The 95% interval of ``gflops`` (from the interval of the median of
        the measurement it came from; NaN with fewer than 6 repeats).
    """

    gflops: float
    size: int
    seconds: tuple[float, ...]
    dtype: str = "float64"
    seconds_after: tuple[float, ...] = ()
    low: float = float("nan")
    high: float = float("nan")

    @classmethod
    def from_seconds(cls, size: int, seconds, seconds_after=(), dtype: str = "float64") -> PeakRate:
        """The rate of the faster of the two measurements' medians, with its interval.

        Examples
        --------
        >>> p = PeakRate.from_seconds(1000, [2.0] * 6, [1.0] * 6)
        >>> p.gflops, p.low, p.high
        (2.0, 2.0, 2.0)
        """
        flops = 2 * size**3 / 1e9
        best = min((s for s in (seconds, seconds_after) if len(s)), key=statistics.median)
        low, high = median_interval(best)
        return cls(gflops=flops / statistics.median(best), size=size, seconds=tuple(seconds), dtype=dtype,
                   seconds_after=tuple(seconds_after), low=flops / high, high=flops / low)

    def describe(self) -> str:
        """One line: the rate, its interval, and both measurements' medians."""
        def rate(ts):
            return f"{2 * self.size**3 / statistics.median(ts) / 1e9:,.1f}"
        when = f"median of {len(self.seconds)} repeats before the strategies: {rate(self.seconds)}"
        if self.seconds_after:
            when += f", after: {rate(self.seconds_after)}"
        return (f"{self.gflops:,.1f} GFLOP/s {format_interval(self.low, self.high, ',.1f')} "
                f"({self.size} x {self.size} {self.dtype} @; {when})")


def times_table(times: Mapping[str, Sequence[float]], numbers: Mapping[str, int]):
    """Tidy repeats: one row per (strategy, repeat) with ``number`` (calls measured) and ``seconds`` (per call)."""
    import pandas as pd

    rows = [(name, r, numbers[name], t) for name, ts in times.items() for r, t in enumerate(ts)]
    return pd.DataFrame(rows, columns=["strategy", "repeat", "number", "seconds"])


def summary_table(times: Mapping[str, Sequence[float]], plans: Mapping[str, str], madds: Mapping[str, int],
                  rel_diff: Mapping[str, float], peak: PeakRate | None):
    """One row per strategy (see :class:`BenchmarkResult`); ``madds`` stay exact ints."""
    import pandas as pd

    names = list(times)
    medians = {n: statistics.median(times[n]) for n in names}
    ci = {n: median_interval(times[n]) for n in names}
    fastest_name = min(names, key=medians.__getitem__)
    nan = float("nan")
    ratio_ci = {n: ratio_interval(times[n], times[fastest_name]) if n != fastest_name  # its own: [1, 1], if any
                else (1.0, 1.0) if len(times[n]) >= MIN_REPEATS else (nan, nan) for n in names}
    gflops = {n: 2 * madds[n] / medians[n] / 1e9 for n in names}
    fastest, fewest = medians[fastest_name], min(madds[n] for n in names)
    verdicts = {n: ratio_verdict(*ratio_ci[n], below="faster") for n in names if n != fastest_name}
    verdicts[fastest_name] = fastest_verdict(verdicts)
    gflops_ci = {n: (2 * madds[n] / ci[n][1] / 1e9, 2 * madds[n] / ci[n][0] / 1e9) for n in names}
    # A strategy whose median rate is above the peak has no fraction of it (the peak product was not a peak);
    # one whose interval only reaches past it has its fraction's interval end at 1, the most a fraction can be.
    above = {n: bool(peak) and gflops[n] > peak.gflops for n in names}
    fraction = {n: (nan, nan, nan) if not peak or above[n] else
                (gflops[n] / peak.gflops, gflops_ci[n][0] / peak.gflops, min(gflops_ci[n][1] / peak.gflops, 1.0))
                for n in names}
    return pd.DataFrame({
        "strategy": names,
        "plan": [plans[n] for n in names],
        "madds": exact_int_column([madds[n] for n in names]),
        "min_s": [min(times[n]) for n in names],
        "median_s": [medians[n] for n in names],
        "median_low_s": [ci[n][0] for n in names],
        "median_high_s": [ci[n][1] for n in names],
        "max_s": [max(times[n]) for n in names],
        "spread": [max(times[n]) / min(times[n]) for n in names],
        "gflops": [gflops[n] for n in names],
        "gflops_low": [gflops_ci[n][0] for n in names],
        "gflops_high": [gflops_ci[n][1] for n in names],
        "vs_fastest": [medians[n] / fastest for n in names],
        "vs_fastest_low": [ratio_ci[n][0] for n in names],
        "vs_fastest_high": [ratio_ci[n][1] for n in names],
        "vs_fastest_verdict": [verdicts[n] for n in names],
        "madds_vs_fewest": [madds[n] / fewest if fewest else 1.0 for n in names],
        "peak_fraction": [fraction[n][0] for n in names],
        "peak_fraction_low": [fraction[n][1] for n in names],
        "peak_fraction_high": [fraction[n][2] for n in names],
        "above_peak": [above[n] for n in names],
        "max_rel_diff": [rel_diff[n] for n in names],
    })


def fastest_verdict(others: Mapping[str, str]) -> str:
    """The verdict of the lowest median, from the others' verdicts against it.

    ``'fastest'`` only when every other strategy is measurably slower;
    otherwise the ties are named, or the lack of repeats said.

    Examples
    --------
    >>> fastest_verdict({"fwd": "slower", "bwd": "slower"})
    'fastest'
    >>> fastest_verdict({"fwd": "no measurable difference", "bwd": "slower"})
    'lowest median; no measurable difference from fwd'
    >>> fastest_verdict({"fwd": "not measurable (fewer than 6 repeats)"})
    'lowest median; not measurable (fewer than 6 repeats)'
    """
    ties = [n for n, v in others.items() if v == NO_DIFFERENCE]
    if ties:
        return f"lowest median; {NO_DIFFERENCE} from {', '.join(ties)}"
    unmeasured = [v for v in others.values() if v != "slower"]
    return f"lowest median; {unmeasured[0]}" if unmeasured else "fastest"


def above_peak_note(summary, peak: PeakRate | None) -> str | None:
    """The sentence saying which strategies ran above the measured peak rate, or None."""
    if peak is None:
        return None
    over = summary[summary["above_peak"]]
    if over.empty:
        return None
    runs = ", ".join(f"{r.strategy} {r.gflops:,.1f}" for r in over.itertuples())
    return (f"{runs} GFLOP/s: above the measured peak of {peak.gflops:,.1f} GFLOP/s (the {peak.size} x {peak.size} "
            "peak product was too small to reach the machine's peak, or was disturbed): no fraction of peak is "
            "shown for these")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _short(plan: str) -> str:
    return plan if len(plan) <= 40 else plan[:37] + "..."


def _display(summary):
    """The text view's cells that combine several columns (values with their intervals)."""
    out = summary.copy()
    rows = list(summary.itertuples())
    out["median_ci"] = [format_interval(r.median_low_s, r.median_high_s, ".3f", scale=1e3) for r in rows]
    out["peak_text"] = [
        "above peak" if r.above_peak else "-" if r.peak_fraction != r.peak_fraction
        else f"{100 * r.peak_fraction:.1f} {format_interval(r.peak_fraction_low, r.peak_fraction_high, '.1f', 100)}"
        for r in rows
    ]
    out["gflops_text"] = [f"{r.gflops:.2f} {format_interval(r.gflops_low, r.gflops_high, '.2f')}" for r in rows]
    out["vs_text"] = [
        "1 (fastest)" if r.vs_fastest_verdict == "fastest" else "1" if r.vs_fastest_verdict.startswith("lowest")
        else format_ratio(r.vs_fastest, r.vs_fastest_low, r.vs_fastest_high)
        for r in rows
    ]
    out["verdict"] = ["" if v in ("fastest", "slower") else v for v in summary["vs_fastest_verdict"]]
    return out


#: The text view of the summary: times in ms, rates and ratios rounded, each with its interval.
_SUMMARY_COLUMNS = (
    Column("strategy", align="<"),
    Column("plan", fmt=_short, align="<"),
    Column("madds", "multiply-adds", fmt=",", align=">"),
    Column("median_s", "median ms", fmt=_ms, align=">"),
    Column("median_ci", "95% CI ms", fmt=str, align=">"),
    Column("gflops_text", "GFLOP/s [95% CI]", fmt=str, align=">"),
    Column("peak_text", "% peak [95% CI]", fmt=str, align=">"),
    Column("vs_text", "x fastest [95% CI]", fmt=str, align=">"),
    Column("verdict", "", fmt=str, align="<"),
    Column("max_rel_diff", "max rel diff", fmt=".1e", align=">"),
)


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
        peak = "not measured" if self.peak is None else self.peak.describe()
        note = above_peak_note(self.summary, self.peak)
        return [
            ("machine", f"{m['cpu']}, {m['cores']} cores, {m['os']}"),
            ("BLAS", m["blas"]),
            ("BLAS threads", str(threads)),
            ("peak matmul rate", peak),
            ("chain", f"{c}  ({c.n_factors} factor{'s' * (c.n_factors != 1)}, Jacobian {c.shape[0]} x {c.shape[1]})"),
            ("layers", self.layers),
            ("dtype", self.dtype),
            ("repeats", f"{self.repeats} per strategy, interleaved and rotated"
                        f"{', each primed by an untimed call' if self.prime else ''}; "
                        f"{self.warmup} warm-up round(s) first"),
            ("calls per repeat", ", ".join(f"{n} {k}" for n, k in
                                           self.times.groupby("strategy", sort=False)["number"].first().items())),
            ("intervals", INTERVAL_METHOD),
            *([("note", note)] if note else []),
        ]

    def _context(self) -> dict:
        return {
            "chain": ",".join(map(str, self.chain.dims)),
            "layers": self.layers,
            "dtype": self.dtype,
            "blas": self.machine["blas"],
            "threads": self.machine["blas_threads"],
            "peak_gflops": None if self.peak is None else self.peak.gflops,
            "peak_gflops_low": None if self.peak is None else self.peak.low,
            "peak_gflops_high": None if self.peak is None else self.peak.high,
        }

    def document(self) -> Document:
        """The report for :mod:`chainopt.report.render`: the summary (text: in ms), csv with the run's context."""
        table = self.summary.copy()
        for i, (key, value) in enumerate(self._context().items()):
            table.insert(i, key, value)
        return Document(self.header(), [Table(_display(self.summary), _SUMMARY_COLUMNS, views=("text",)),
                                        Table(self.summary, views=("markdown",))], csv=table, data=self.to_dict())

    def format(self, fmt: str = "text") -> str:
        """Render as ``'text'``, ``'markdown'``, ``'csv'`` or ``'json'``."""
        return render(self.document(), fmt)

    def to_text(self) -> str:
        """Aligned text: a right-aligned header, a rule, one row per strategy (times in ms)."""
        return self.format("text")

    def to_markdown(self) -> str:
        """A two-column header table, then the summary table (exact values)."""
        return self.format("markdown")

    def to_csv(self) -> str:
        """CSV of the summary, one row per strategy, with the run's context in every row."""
        return self.format("csv")

    def to_dict(self) -> dict:
        """Plain Python data: the context, the summary and every repeat (``None`` where a value is NaN)."""
        return plain({
            **self._context(),
            "chain": list(self.chain.dims),
            "machine": self.machine,
            "repeats": self.repeats,
            "warmup": self.warmup,
            "prime": self.prime,
            "peak": None if self.peak is None else {
                "gflops": self.peak.gflops, "low": self.peak.low, "high": self.peak.high, "size": self.peak.size,
                "dtype": self.peak.dtype, "seconds_before": list(self.peak.seconds),
                "seconds_after": list(self.peak.seconds_after),
            },
            "intervals": INTERVAL_METHOD,
            "summary": records(self.summary),
            "times": records(self.times),
        }, json_safe=True)

    def to_json(self) -> str:
        """JSON of :meth:`to_dict` (multiply-adds are exact JSON integers)."""
        return self.format("json")

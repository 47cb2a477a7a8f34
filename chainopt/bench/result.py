"""What a benchmark returns: every repeat, the summary, the machine; rendered by :mod:`chainopt.report.render`.

pandas is imported lazily: this is the reporting side of the harness.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chainopt.core.chain import Chain
from chainopt.report.render import Column, Document, Table, exact_int_column, plain, records, render

__all__ = ["PeakRate", "BenchmarkResult", "times_table", "summary_table"]


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
    gflops = {n: 2 * madds[n] / medians[n] / 1e9 for n in names}
    fastest, fewest = min(medians.values()), min(madds[n] for n in names)
    return pd.DataFrame({
        "strategy": names,
        "plan": [plans[n] for n in names],
        "madds": exact_int_column([madds[n] for n in names]),
        "min_s": [min(times[n]) for n in names],
        "median_s": [medians[n] for n in names],
        "max_s": [max(times[n]) for n in names],
        "spread": [max(times[n]) / min(times[n]) for n in names],
        "gflops": [gflops[n] for n in names],
        "vs_fastest": [medians[n] / fastest for n in names],
        "madds_vs_fewest": [madds[n] / fewest if fewest else 1.0 for n in names],
        "peak_fraction": [gflops[n] / peak.gflops if peak else float("nan") for n in names],
        "max_rel_diff": [rel_diff[n] for n in names],
    })


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _percent(fraction: float) -> str:
    return "-" if fraction != fraction else f"{100 * fraction:.1f}"  # NaN: no peak measured


def _short(plan: str) -> str:
    return plan if len(plan) <= 40 else plan[:37] + "..."


#: The text view of the summary: times in ms, rates and ratios rounded.
_SUMMARY_COLUMNS = (
    Column("strategy", align="<"),
    Column("plan", fmt=_short, align="<"),
    Column("madds", "multiply-adds", fmt=",", align=">"),
    Column("min_s", "min ms", fmt=_ms, align=">"),
    Column("median_s", "median ms", fmt=_ms, align=">"),
    Column("max_s", "max ms", fmt=_ms, align=">"),
    Column("gflops", "GFLOP/s", fmt=".2f", align=">"),
    Column("peak_fraction", "% peak", fmt=_percent, align=">"),
    Column("vs_fastest", "x fastest", fmt=".2f", align=">"),
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
                        f"{', each primed by an untimed call' if self.prime else ''}; "
                        f"{self.warmup} warm-up round(s) first"),
            ("calls per repeat", ", ".join(f"{n} {k}" for n, k in
                                           self.times.groupby("strategy", sort=False)["number"].first().items())),
        ]

    def _context(self) -> dict:
        return {
            "chain": ",".join(map(str, self.chain.dims)),
            "layers": self.layers,
            "dtype": self.dtype,
            "blas": self.machine["blas"],
            "threads": self.machine["blas_threads"],
            "peak_gflops": None if self.peak is None else self.peak.gflops,
        }

    def document(self) -> Document:
        """The report for :mod:`chainopt.report.render`: the summary (text: in ms), csv with the run's context."""
        table = self.summary.copy()
        for i, (key, value) in enumerate(self._context().items()):
            table.insert(i, key, value)
        return Document(self.header(), [Table(self.summary, _SUMMARY_COLUMNS)], csv=table, data=self.to_dict())

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
            "summary": records(self.summary),
            "times": records(self.times),
        }, json_safe=True)

    def to_json(self) -> str:
        """JSON of :meth:`to_dict` (multiply-adds are exact JSON integers)."""
        return self.format("json")

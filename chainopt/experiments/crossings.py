"""Where measured FWD and BWD times cross: the crossover read from timings, with what the grid supports.

:func:`chainopt.experiments.crossover.measure` times FWD and BWD along ``n_1``
on a grid of powers of two; this module says where their medians cross
(log-linear between grid points), between which grid points a measured
difference each side brackets that crossing, or why there is none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MeasuredCrossover", "measured_crossover", "measured_crossover_interval"]


def _first_crossing(xs, gaps) -> float | None:
    """``2**x`` where the log-ratios ``gaps`` first change sign along ``xs`` (log-linear), or None."""
    for (x0, g0), (x1, g1) in zip(zip(xs, gaps), zip(xs[1:], gaps[1:])):
        if g0 == 0:
            return 2.0**x0
        if g0 < 0 < g1 or g1 < 0 < g0:
            return 2.0 ** (x0 + (x1 - x0) * g0 / (g0 - g1))
    return None


def measured_crossover(measured, interior: str) -> float | None:
    """The ``n_1`` where measured FWD and BWD medians cross (log-linear interpolation).

    ``None`` when one mode is faster at every measured point.
    """
    part = measured[measured["interior"] == interior]
    times = part.pivot(index="n_in", columns="strategy", values="median_s").sort_index()
    gap = [math.log(f / b) for f, b in zip(times["fwd"], times["bwd"])]
    return _first_crossing([math.log2(n) for n in times.index], gap)


@dataclass(frozen=True)
class MeasuredCrossover:
    """What the measured FWD/BWD timings say about the crossover of one interior.

    Attributes
    ----------
    status : str
        ``'crossover'`` (FWD measurably faster at some ``n_1``, BWD at
        another), ``'within noise'`` (the ratio's 95% interval contains 1 at
        every point: the curves cannot be told apart over the whole range),
        ``'no crossover'`` (one mode measurably faster where the two differ,
        never the other) or ``'not measured'``.
    estimate : float or None
        Where the medians cross (``None`` unless ``status`` is ``'crossover'``).
    low, high : float or None
        The crossover's interval, as far as the grid supports it: from the
        nearest measured ``n_1`` below the estimate where FWD was measurably
        faster (its ratio's 95% interval under 1) to the nearest above where
        BWD was measurably faster. Between grid points the curves are only
        interpolated, so no narrower interval is claimed.
    faster, why : str or None
        For ``'no crossover'``: the mode that was faster; for ``'not measured'``: why.

    Examples
    --------
    >>> MeasuredCrossover("crossover", 62.57, 16.0, 256.0).describe()
    '63 [16, 256]'
    >>> MeasuredCrossover("within noise").describe()
    'within noise over the whole range'
    """

    status: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    faster: str | None = None
    why: str | None = None

    def describe(self) -> str:
        """Short text for tables: the estimate with its interval, or what was (not) seen."""
        if self.status == "crossover":
            return f"{self.estimate:,.0f} [{self.low:,.0f}, {self.high:,.0f}]"
        if self.status == "within noise":
            return "within noise over the whole range"
        if self.status == "no crossover":
            return f"no measured crossover ({self.faster} faster where they differ)"
        return "not measured" + (f" ({self.why})" if self.why else "")


def measured_crossover_interval(measured, interior: str) -> MeasuredCrossover:
    """The measured crossover of ``interior`` with its interval, or why there is none.

    Uses the ``fwd_over_bwd`` columns of :func:`measure`: per point the ratio
    of the medians and its 95% paired bootstrap interval. A point whose
    interval contains 1 is a tie. The estimate is where the medians' ratio
    crosses 1 (log-linear between grid points); the interval runs between
    the grid points that bracket it with a measured difference each side
    (see :class:`MeasuredCrossover`).
    """
    if measured is None:
        return MeasuredCrossover("not measured", why="timing off: --no-measure")
    if interior not in set(measured["interior"]):
        timed = ", ".join(dict.fromkeys(measured["interior"]))
        return MeasuredCrossover("not measured", why=f"only {timed} {'is' if ', ' not in timed else 'are'} timed")
    part = measured[measured["interior"] == interior].drop_duplicates("n_in").sort_values("n_in")
    xs = [math.log2(n) for n in part["n_in"]]
    lows, highs = list(part["fwd_over_bwd_low"]), list(part["fwd_over_bwd_high"])
    fwd_wins = any(h < 1 for h in highs)
    bwd_wins = any(lo > 1 for lo in lows)
    if fwd_wins and bwd_wins:
        ns = list(part["n_in"])
        fwd_at = [n for n, h in zip(ns, highs) if h < 1]
        bwd_at = [n for n, lo in zip(ns, lows) if lo > 1]
        estimate = _first_crossing(xs, [math.log(v) for v in part["fwd_over_bwd"]])
        if estimate is None:  # the medians never cross although the bounds do: the bracket's middle
            estimate = math.sqrt(max(fwd_at) * min(bwd_at)) if max(fwd_at) < min(bwd_at) else float(min(fwd_at))
        below = [n for n in fwd_at if n <= estimate]
        above = [n for n in bwd_at if n >= estimate]
        low = float(max(below)) if below else float(min(ns))
        high = float(min(above)) if above else float(max(ns))
        return MeasuredCrossover("crossover", estimate, low, high)
    if fwd_wins or bwd_wins:
        return MeasuredCrossover("no crossover", faster="FWD" if fwd_wins else "BWD")
    return MeasuredCrossover("within noise")

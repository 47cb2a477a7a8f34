"""Intervals for measured times and ratios of times: what a measurement can and cannot tell apart.

Every time chainopt shows comes with a **95% bootstrap confidence interval of
the median** over the repeats (:func:`median_interval`: ``scipy.stats.bootstrap``,
percentile method, 2,000 resamples, seeded so the same repeats give the same
interval). A ratio of two strategies' times comes with the bootstrap
interval of the **ratio of their medians**, resampling the interleaved rounds
in pairs (:func:`ratio_interval`): round ``r`` of A and round ``r`` of B ran
back to back, so drift that hits one hits the other.

A ratio whose interval contains 1 is **no measurable difference**, never a
winner (:func:`ratio_verdict`). With a single repeat there is no spread to
measure: the interval is NaN and the verdict says so.

The intervals are honest about few repeats, not magic: with 3 repeats the
interval of a median is about the range of the three values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "INTERVAL_METHOD",
    "NO_DIFFERENCE",
    "format_ratio",
    "format_spread",
    "median_interval",
    "ratio_interval",
    "ratio_verdict",
    "format_interval",
]

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Bootstrap resamples per interval.
RESAMPLES = 2000
#: How the intervals are computed, for report headers.
INTERVAL_METHOD = (f"[low, high]: {CONFIDENCE:.0%} bootstrap CI of the median (ratios: of the ratio of medians, "
                   "rounds paired); contains 1 = no measurable difference")
#: The verdict of a ratio whose interval contains 1.
NO_DIFFERENCE = "no measurable difference"


def _values(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def median_interval(values: Sequence[float], *, seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap confidence interval ``(low, high)`` of the median of ``values``.

    NaN for both ends when there are fewer than 2 values (no spread to measure).

    Examples
    --------
    >>> median_interval([1.0, 1.0, 1.0])
    (1.0, 1.0)
    >>> low, high = median_interval([1.0, 1.1, 0.9, 1.05, 0.95, 1.2, 1.0])
    >>> 0.9 <= low <= 1.0 <= high <= 1.2
    True
    >>> median_interval([2.0])
    (nan, nan)
    """
    from scipy.stats import bootstrap

    x = _values(values)
    if x.size < 2:
        return math.nan, math.nan
    res = bootstrap((x,), np.median, confidence_level=CONFIDENCE, n_resamples=RESAMPLES, method="percentile",
                    vectorized=True, rng=seed)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return max(low, float(x.min())), min(high, float(x.max()))  # no rounding past the sample's range


def _ratio_of_medians(a, b, axis=-1):
    return np.median(a, axis=axis) / np.median(b, axis=axis)


def ratio_interval(numerator: Sequence[float], denominator: Sequence[float], *, paired: bool = True,
                   seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap interval of ``median(numerator) / median(denominator)``.

    ``paired``: the two lists are rounds of the same interleaved run
    (``numerator[r]`` and ``denominator[r]`` ran back to back) and are
    resampled together. NaN when either has fewer than 2 values.

    Examples
    --------
    >>> ratio_interval([2.0, 2.1, 1.9], [1.0, 1.0, 1.0])
    (1.9, 2.1)
    >>> ratio_interval([1.0], [1.0])
    (nan, nan)
    """
    from scipy.stats import bootstrap

    a, b = _values(numerator), _values(denominator)
    if a.size < 2 or b.size < 2 or (paired and a.size != b.size):
        return math.nan, math.nan
    res = bootstrap((a, b), _ratio_of_medians, paired=paired, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                    method="percentile", vectorized=True, rng=seed)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def ratio_verdict(low: float, high: float, *, above: str = "slower", below: str = "faster") -> str:
    """``above`` if the whole interval is over 1, ``below`` if under 1, else :data:`NO_DIFFERENCE`.

    A NaN interval (one repeat) gives ``'not measurable (1 repeat)'``.

    Examples
    --------
    >>> ratio_verdict(1.2, 1.5), ratio_verdict(0.7, 0.9), ratio_verdict(0.95, 1.1)
    ('slower', 'faster', 'no measurable difference')
    """
    if math.isnan(low) or math.isnan(high):
        return "not measurable (1 repeat)"
    if low > 1:
        return above
    if high < 1:
        return below
    return NO_DIFFERENCE


def format_interval(low: float, high: float, fmt: str = ".3g", scale: float = 1.0) -> str:
    """``'[low, high]'`` with ``fmt``, or ``'[n/a]'`` for a NaN interval (one repeat).

    Examples
    --------
    >>> format_interval(0.0012, 0.0015, ".3f", scale=1e3), format_interval(float("nan"), float("nan"))
    ('[1.200, 1.500]', '[n/a]')
    """
    if math.isnan(low) or math.isnan(high):
        return "[n/a]"
    return f"[{low * scale:{fmt}}, {high * scale:{fmt}}]"


def format_spread(median: float, low: float, high: float, repeats: int, fmt: str = ".3g") -> str:
    """``'median [min, max]'`` over the repeats, or ``'median (1 run)'`` when a single call filled the budget.

    Examples
    --------
    >>> format_spread(0.0021, 0.002, 0.0025, 5), format_spread(5.62, 5.62, 5.62, 1)
    ('0.0021 [0.002, 0.0025]', '5.62 (1 run)')
    """
    if repeats <= 1:
        return f"{median:{fmt}} (1 run)"
    return f"{median:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def format_ratio(value: float, low: float, high: float, digits: int = 2) -> str:
    """``'1.23 [1.10, 1.35]'``: a ratio and its interval, with enough decimals to show which side of 1 it is on.

    When the interval excludes 1, decimals are added (up to 6) until its
    printed bounds do too, so a measurable difference never reads as
    ``[1.00, 1.01]``.

    Examples
    --------
    >>> format_ratio(1.2, 1.1, 1.35), format_ratio(1.004, 1.001, 1.008), format_ratio(0.99, 0.95, 1.02)
    ('1.20 [1.10, 1.35]', '1.004 [1.001, 1.008]', '0.99 [0.95, 1.02]')
    """
    if not (math.isnan(low) or math.isnan(high)) and not low <= 1 <= high:
        while digits < 6 and (round(low, digits) <= 1 <= round(high, digits)):
            digits += 1
    return f"{value:.{digits}f} {format_interval(low, high, f'.{digits}f')}"

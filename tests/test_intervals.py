"""Intervals of measured times and ratios (issue 12): no winner without an interval that excludes 1.

Oracles: the bootstrap interval of a median lies within the sample's range
and contains nothing when the sample is constant; a ratio's verdict is read
back from the rendered text and checked against the interval's numbers.
"""

import math
import re
import statistics

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.bench.intervals import NO_DIFFERENCE, median_interval, ratio_interval, ratio_verdict
from chainopt.bench.result import BenchmarkResult, PeakRate, summary_table, times_table
from chainopt.core.chain import Chain

SECONDS = st.floats(1e-6, 1e-3, allow_nan=False)


SAMPLES = st.lists(SECONDS, min_size=2, max_size=9)


# 10 examples (each a bootstrap); the _thorough twin (-m slow) runs 25
@fewer_examples(10)
@given(SAMPLES)
def test_the_interval_of_a_median_lies_within_the_sample(values):
    low, high = median_interval(values)
    assert min(values) <= low <= high <= max(values)


test_the_interval_of_a_median_lies_within_the_sample_thorough = slow_twin(
    test_the_interval_of_a_median_lies_within_the_sample, SAMPLES, max_examples=25)


def test_a_constant_ratio_has_a_point_interval_and_a_verdict():
    assert ratio_interval([2.0] * 5, [1.0] * 5) == (2.0, 2.0)
    assert ratio_verdict(*ratio_interval([2.0] * 5, [1.0] * 5)) == "slower"
    assert ratio_verdict(*ratio_interval([1.0, 1.1, 0.9], [1.0, 0.9, 1.1])) == NO_DIFFERENCE


def test_pairing_removes_drift_that_hits_both():
    drift = [1.0, 2.0, 4.0, 8.0, 16.0]  # the machine slows down round by round, for both alike
    a, b = [1.1 * d for d in drift], drift
    assert ratio_interval(a, b, paired=True) == pytest.approx((1.1, 1.1))
    low, high = ratio_interval(a, b, paired=False)
    assert low < 1 < high  # unpaired, the drift hides the 10%


def _result(times):
    names = list(times)
    madds = {n: 1000 * (i + 1) for i, n in enumerate(names)}
    summary = summary_table(times, dict.fromkeys(names, "A2 A1"), madds, dict.fromkeys(names, 0.0),
                            PeakRate.from_seconds(10, [2e-3, 2.1e-3], [2e-3, 1.9e-3]))
    return BenchmarkResult(chain=Chain([3, 4, 5]), layers="given", dtype="float64", repeats=len(times[names[0]]),
                           warmup=0, prime=True, times=times_table(times, dict.fromkeys(names, 1)), summary=summary,
                           peak=None, machine={"cpu": "x", "cores": 1, "os": "y", "blas": "z", "blas_threads": 1})


COLUMNS = st.integers(2, 7).flatmap(lambda n: st.lists(st.lists(SECONDS, min_size=n, max_size=n), min_size=2,
                                                         max_size=3))


# 6 examples (each a benchmark summary: a bootstrap interval per time and per ratio); the twin (-m slow) runs 25
@fewer_examples(6)
@given(COLUMNS)
def test_every_ratio_printed_as_a_difference_has_an_interval_that_excludes_1(columns):
    times = {name: ts for name, ts in zip(("fwd", "bwd", "optimal"), columns)}
    res = _result(times)
    s = res.summary.set_index("strategy")
    text_rows = {line.split()[0]: line for line in res.to_text().splitlines() if line.split()[:1] and
                 line.split()[0] in times}
    for name, ts in times.items():
        row, line = s.loc[name], text_rows[name]
        assert row["vs_fastest"] == pytest.approx(statistics.median(ts) / min(map(statistics.median, times.values())))
        low, high = row["vs_fastest_low"], row["vs_fastest_high"]
        if row["vs_fastest_verdict"] == "fastest":
            assert "1 (fastest)" in line
            continue
        printed = [*re.finditer(r"(\d+\.\d\d) \[(\d+\.\d\d), (\d+\.\d\d)\]\s*(no measurable difference)?",
                                line)]  # GFLOP/s [CI], then x fastest [CI]: the ratio is the last
        assert len(printed) == 2, line
        printed = printed[-1]
        if printed.group(4) is None:  # printed as slower than the fastest: the interval excludes 1
            assert low > 1 and row["vs_fastest_verdict"] == "slower"
        else:
            assert low <= 1 <= high
        assert res.to_dict()["summary"][list(times).index(name)]["vs_fastest_verdict"] == row["vs_fastest_verdict"]


test_every_ratio_printed_as_a_difference_has_an_interval_that_excludes_1_thorough = slow_twin(
    test_every_ratio_printed_as_a_difference_has_an_interval_that_excludes_1, COLUMNS, max_examples=25)


def test_a_rate_above_the_peak_is_never_printed_as_a_fraction():
    times = {"fwd": [1e-9, 1.1e-9, 1.2e-9], "bwd": [2e-3, 2.1e-3, 2.2e-3]}
    names = list(times)
    peak = PeakRate.from_seconds(100, [1.0, 1.0, 1.1], [0.9, 1.0, 1.0])  # 2e6 flops in ~1 s: 0.002 GFLOP/s
    summary = summary_table(times, dict.fromkeys(names, "p"), {"fwd": 10**6, "bwd": 1}, dict.fromkeys(names, 0.0),
                            peak)
    res = BenchmarkResult(chain=Chain([3, 4, 5]), layers="given", dtype="float64", repeats=3, warmup=0, prime=True,
                          times=times_table(times, dict.fromkeys(names, 1)), summary=summary, peak=peak,
                          machine={"cpu": "x", "cores": 1, "os": "y", "blas": "z", "blas_threads": 1})
    assert summary.set_index("strategy").loc["fwd", "above_peak"]
    text = res.to_text()
    fwd_line = next(line for line in text.splitlines() if line.startswith("fwd"))
    assert "above peak" in fwd_line and "%" not in fwd_line
    assert "above the measured peak of 0.0 GFLOP/s" in text and "was disturbed" in text
    assert not re.search(r"\b\d{3,}\.\d %", text)
    assert math.isfinite(peak.low) and peak.low <= peak.gflops <= peak.high
    assert "after: " in res.header()[3][1]


def test_one_repeat_has_no_interval_and_no_winner():
    res = _result({"fwd": [1e-3], "bwd": [2e-3]})
    bwd = res.summary.set_index("strategy").loc["bwd"]
    assert np.isnan(bwd["vs_fastest_low"]) and bwd["vs_fastest_verdict"] == "not measurable (1 repeat)"
    assert "[n/a]" in res.to_text()

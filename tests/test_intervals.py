"""Intervals of measured times and ratios (issue 12): no winner without an interval that excludes 1.

Oracles: the interval of a median is two order statistics of the sample,
checked against the binomial coverage computed here by hand; it is a point
when the sample is constant; a ratio's verdict is read back from the
rendered text and checked against the interval's numbers; a simulation on
identical distributions gives wrong verdicts at about the nominal rate.
"""

import math
import re
import statistics

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.bench.intervals import (
    MIN_REPEATS,
    NO_DIFFERENCE,
    NOT_MEASURABLE,
    median_interval,
    ratio_interval,
    ratio_verdict,
)
from chainopt.bench.result import BenchmarkResult, PeakRate, summary_table, times_table
from chainopt.core.chain import Chain

SECONDS = st.floats(1e-6, 1e-3, allow_nan=False)


SAMPLES = st.lists(SECONDS, min_size=1, max_size=30)


def _coverage(n: int, k: int) -> float:
    """P(the k-th smallest <= median <= the k-th largest) for n draws of any continuous distribution."""
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n


# 10 examples; the _thorough twin (-m slow) runs 25
@fewer_examples(10)
@given(SAMPLES)
def test_the_interval_of_a_median_is_the_narrowest_pair_of_order_statistics_covering_95(values):
    low, high = median_interval(values)
    n = len(values)
    if n < MIN_REPEATS:
        assert math.isnan(low) and math.isnan(high)
        assert _coverage(n, 1) < 0.95  # even min to max would claim too much
        return
    k = max(k for k in range(1, n // 2 + 1) if _coverage(n, k) >= 0.95)
    x = sorted(values)
    assert (low, high) == (x[k - 1], x[n - k])


test_the_interval_of_a_median_is_the_narrowest_pair_of_order_statistics_covering_95_thorough = slow_twin(
    test_the_interval_of_a_median_is_the_narrowest_pair_of_order_statistics_covering_95, SAMPLES, max_examples=25)


def test_wrong_verdicts_on_identical_distributions_stay_near_the_nominal_rate():
    rng = np.random.default_rng(7)
    trials = 200
    wrong = sum(ratio_verdict(*ratio_interval(rng.lognormal(0, 0.1, MIN_REPEATS), rng.lognormal(0, 0.1, MIN_REPEATS),
                                              seed=t)) != NO_DIFFERENCE for t in range(trials))
    assert wrong / trials <= 0.10  # nominal 5%; with 2 or 3 repeats the bootstrap alone erred 27-52% of the time


def test_a_constant_ratio_has_a_point_interval_and_a_verdict():
    assert ratio_interval([2.0] * 6, [1.0] * 6) == (2.0, 2.0)
    assert ratio_verdict(*ratio_interval([2.0] * 6, [1.0] * 6)) == "slower"
    assert ratio_verdict(*ratio_interval([1.0, 1.1, 0.9] * 2, [1.0, 0.9, 1.1] * 2)) == NO_DIFFERENCE
    assert ratio_verdict(*ratio_interval([2.0] * 5, [1.0] * 5)) == NOT_MEASURABLE  # too few to say


def test_pairing_removes_drift_that_hits_both():
    drift = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # the machine slows down round by round, for both alike
    a, b = [1.1 * d for d in drift], drift
    assert ratio_interval(a, b, paired=True) == pytest.approx((1.1, 1.1))
    low, high = ratio_interval(a, b, paired=False)
    assert low < 1 < high  # unpaired, the drift hides the 10%


def _result(times):
    names = list(times)
    madds = {n: 1000 * (i + 1) for i, n in enumerate(names)}
    summary = summary_table(times, dict.fromkeys(names, "A2 A1"), madds, dict.fromkeys(names, 0.0),
                            PeakRate.from_seconds(10, [2e-3, 2.1e-3] * 3, [2e-3, 1.9e-3] * 3))
    return BenchmarkResult(chain=Chain([3, 4, 5]), layers="given", dtype="float64", repeats=len(times[names[0]]),
                           warmup=0, prime=True, times=times_table(times, dict.fromkeys(names, 1)), summary=summary,
                           peak=None, machine={"cpu": "x", "cores": 1, "os": "y", "blas": "z", "blas_threads": 1})


COLUMNS = st.integers(MIN_REPEATS - 1, 9).flatmap(
    lambda n: st.lists(st.lists(SECONDS, min_size=n, max_size=n), min_size=2, max_size=3))


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
            assert all(s.loc[other, "vs_fastest_verdict"] == "slower" for other in times if other != name)
            continue
        if row["vs_fastest_verdict"].startswith("lowest median"):  # the lowest median, but no winner
            assert "(fastest)" not in line and row["vs_fastest"] == 1
            assert any(s.loc[other, "vs_fastest_verdict"] != "slower" for other in times if other != name)
            continue
        if row["vs_fastest_verdict"] == NOT_MEASURABLE:
            assert len(ts) < MIN_REPEATS and "[n/a]" in line
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
    times = {"fwd": [1e-9, 1.1e-9, 1.2e-9] * 2, "bwd": [2e-3, 2.1e-3, 2.2e-3] * 2}
    names = list(times)
    peak = PeakRate.from_seconds(100, [1.0, 1.0, 1.1] * 2, [0.9, 1.0, 1.0] * 2)  # 2e6 flops in ~1 s: 0.002 GFLOP/s
    summary = summary_table(times, dict.fromkeys(names, "p"), {"fwd": 10**6, "bwd": 1}, dict.fromkeys(names, 0.0),
                            peak)
    res = BenchmarkResult(chain=Chain([3, 4, 5]), layers="given", dtype="float64", repeats=6, warmup=0, prime=True,
                          times=times_table(times, dict.fromkeys(names, 1)), summary=summary, peak=peak,
                          machine={"cpu": "x", "cores": 1, "os": "y", "blas": "z", "blas_threads": 1})
    assert summary.set_index("strategy").loc["fwd", "above_peak"]
    text = res.to_text()
    fwd_line = next(line for line in text.splitlines() if line.startswith("fwd"))
    assert "above peak" in fwd_line and "%" not in fwd_line
    assert "above the measured peak of 0.0 GFLOP/s" in text and "no fraction of peak is shown" in text
    assert not re.search(r"\b\d{3,}\.\d %", text)
    fwd = res.to_dict()["summary"][0]
    assert fwd["peak_fraction"] is None and fwd["peak_fraction_high"] is None  # not in json, csv or markdown either
    assert "2.366" not in res.to_markdown() if hasattr(res, "to_markdown") else True
    assert math.isfinite(peak.low) and peak.low <= peak.gflops <= peak.high
    assert "after: " in res.header()[3][1]


@pytest.mark.parametrize("repeats", [1, 2, MIN_REPEATS - 1])
def test_too_few_repeats_have_no_interval_and_no_winner(repeats):
    res = _result({"fwd": [1e-3] * repeats, "bwd": [2e-3] * repeats})
    s = res.summary.set_index("strategy")
    assert np.isnan(s.loc["bwd", "vs_fastest_low"]) and s.loc["bwd", "vs_fastest_verdict"] == NOT_MEASURABLE
    assert s.loc["fwd", "vs_fastest_verdict"] == f"lowest median; {NOT_MEASURABLE}"
    assert np.isnan(s.loc["fwd", "vs_fastest_low"]) and np.isnan(s.loc["fwd", "vs_fastest_high"])  # not even [1, 1]
    text = res.to_text()
    assert "[n/a]" in text and "(fastest)" not in text


def test_the_lowest_median_tied_with_another_is_not_called_fastest():
    same = [1e-3, 1.1e-3, 0.9e-3, 1.05e-3, 0.95e-3, 1e-3, 1.02e-3]
    res = _result({"fwd": same, "bwd": same[::-1], "optimal": [3e-3] * 7})
    s = res.summary.set_index("strategy")
    lowest = s["vs_fastest"].idxmin()
    other = "bwd" if lowest == "fwd" else "fwd"
    assert s.loc[lowest, "vs_fastest_verdict"] == f"lowest median; {NO_DIFFERENCE} from {other}"
    assert s.loc["optimal", "vs_fastest_verdict"] == "slower"
    assert "(fastest)" not in res.to_text()


def test_a_fraction_of_peak_never_reaches_past_1():
    times = {"fwd": [1.0e-3, 1.2e-3, 0.8e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3]}
    peak = PeakRate.from_seconds(10, [1e-3] * 7)  # 2e3 flops per ms: the peak rate equals fwd's median rate
    summary = summary_table(times, {"fwd": "p"}, {"fwd": 1000}, {"fwd": 0.0}, peak)
    row = summary.iloc[0]
    assert not row["above_peak"] and row["peak_fraction"] == pytest.approx(1.0)
    assert row["peak_fraction_low"] < 1 and row["peak_fraction_high"] == 1.0

"""The benchmark harness on tiny chains: the rows, the summary, the checks. No wall-clock asserts."""

import importlib
import json
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest

import chainopt as co
from chainopt.bench.harness import TimingSpreadWarning, autorange, check_spread, peak_matmul_rate, time_interleaved
from chainopt.errors import ChainoptError, MemoryBudgetError, ResultMismatchError, ShapeError, UnknownStrategyError

timing = importlib.import_module("chainopt.bench.harness")
workloads = importlib.import_module("chainopt.bench.workloads")  # builds the Jacobians and the timed callables

# Microsecond products are noisy: the spread warning is tested on its own, below. No test reads how long
# anything took: 1 ms measurements (conftest.short_measurements).
pytestmark = [pytest.mark.filterwarnings("ignore::chainopt.bench.harness.TimingSpreadWarning"),
              pytest.mark.usefixtures("short_measurements")]

DIMS = [6, 9, 2, 9, 6]


@pytest.fixture(scope="module")
def result():
    return co.benchmark(DIMS, repeats=3, warmup=1, peak_size=16)


def test_one_row_per_strategy_and_repeat(result):
    times = result.times
    assert list(times.columns) == ["strategy", "repeat", "number", "seconds"]
    assert (times["number"] >= 1).all()
    assert len(times) == 4 * 3
    assert sorted(times.groupby(["strategy", "repeat"]).size().unique()) == [1]
    assert set(times["strategy"]) == {"fwd", "bwd", "optimal", "multi_dot"}
    assert sorted(times["repeat"].unique()) == [0, 1, 2]
    assert (times["seconds"] > 0).all()


def test_summary_is_consistent_with_the_rows(result):
    s = result.summary.set_index("strategy")
    for name, group in result.times.groupby("strategy"):
        secs = list(group.sort_values("repeat")["seconds"])
        assert s.loc[name, "min_s"] == min(secs)
        assert s.loc[name, "max_s"] == max(secs)
        assert s.loc[name, "median_s"] == statistics.median(secs)
        assert s.loc[name, "spread"] == pytest.approx(max(secs) / min(secs))
        assert s.loc[name, "gflops"] == pytest.approx(2 * s.loc[name, "madds"] / statistics.median(secs) / 1e9)
        assert s.loc[name, "peak_fraction"] == pytest.approx(s.loc[name, "gflops"] / result.peak.gflops)
    assert s["vs_fastest"].min() == 1.0
    assert s.loc[s["vs_fastest"].idxmin(), "median_s"] == s["median_s"].min()
    # the multiply-adds against independent oracles: the closed forms, exhaustive search, numpy's own DP
    from numpy.linalg._linalg import _multi_dot_matrix_chain_order

    assert s.loc["fwd", "madds"] == co.fwd_cost(DIMS) and s.loc["bwd", "madds"] == co.bwd_cost(DIMS)
    cheapest = min(p.cost for p in co.all_plans(DIMS))
    numpy_cost = int(_multi_dot_matrix_chain_order([np.empty((b, a)) for a, b in zip(DIMS, DIMS[1:])][::-1],
                                                   return_costs=True)[1][0, -1])
    assert s.loc["optimal", "madds"] == cheapest == numpy_cost == s.loc["multi_dot", "madds"]
    assert s.loc["fwd", "plan"] == "A4 (A3 (A2 A1))" and s.loc["bwd", "plan"] == "((A4 A3) A2) A1"
    assert s["madds"].dtype == np.int64
    assert list(s["madds_vs_fewest"]) == [m / s["madds"].min() for m in s["madds"]]
    assert (s["max_rel_diff"] < 1e-13).all()


def test_machine_and_peak_are_recorded(result):
    assert result.peak.size == 16 and len(result.peak.seconds) == 3 and result.peak.gflops > 0
    assert {"blas", "blas_threads", "cpu", "numpy"} <= set(result.machine)
    assert result.chain.dims == tuple(DIMS) and result.dtype == "float64"


def test_renderers(result):
    text = result.to_text()
    lines = text.splitlines()
    labels = [line.split(":")[0] for line in lines[:8]]
    assert {len(label) for label in labels} == {len("peak matmul rate")}  # right-aligned
    assert "BLAS threads" in text and "optimal" in text and "(A4 A3) (A2 A1)" in text
    csv = pd.read_csv(__import__("io").StringIO(result.to_csv()))
    assert list(csv["strategy"]) == ["fwd", "bwd", "optimal", "multi_dot"]
    assert (csv["chain"] == "6,9,2,9,6").all()
    data = json.loads(result.to_json())
    assert data["chain"] == DIMS and len(data["times"]) == 12 and data["summary"][2]["madds"] == co.plan(DIMS).cost
    assert result.to_markdown().count("\n|") > 10
    assert result.format("csv") == result.to_csv()
    with pytest.raises(ChainoptError, match="unknown format 'xml'"):
        result.format("xml")


def test_given_jacobians_float32_and_a_subset_of_strategies():
    mats = co.random_jacobians([5, 4, 3], seed=1, dtype=np.float32)
    res = co.benchmark(mats, strategies=["bwd", "multi_dot"], repeats=2, peak_size=None)
    assert list(res.summary["strategy"]) == ["bwd", "multi_dot"]
    assert res.layers == "given" and res.dtype == "float32" and res.peak is None
    assert res.summary["peak_fraction"].isna().all()
    assert len(res.times) == 4


@pytest.mark.parametrize("layers, dims, chain", [
    ("mlp", [5, 4, 3], (5, 4, 4, 3)),
    ("resnet", [4, 4, 4], (4, 4, 4)),
])
def test_real_layers(layers, dims, chain):
    res = co.benchmark(dims, layers=layers, repeats=1, peak_size=None)
    assert res.chain.dims == chain and layers in res.layers


def test_strategies_that_disagree_are_an_error(monkeypatch):
    real = workloads.execute

    def wrong_fwd(plan, mats, **kwargs):
        out = real(plan, mats, **kwargs)
        return out * 1.001 if str(plan).startswith("A4 (") else out

    monkeypatch.setattr(workloads, "execute", wrong_fwd)
    message = r"strategy 'fwd' \(A4 \(A3 \(A2 A1\)\)\) disagrees with the reference"
    with pytest.raises(ResultMismatchError, match=message):
        co.benchmark(DIMS, repeats=1, peak_size=None)


def test_rounding_differences_are_not_mismatches():
    # long float32 chain: orders differ by rounding only
    dims = [30, 2, 40, 3, 50, 2, 60, 5, 30]
    res = co.benchmark(dims, repeats=1, peak_size=None, dtype=np.float32)
    assert (res.summary["max_rel_diff"] > 0).any() and (res.summary["max_rel_diff"] < 1e-4).all()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"strategies": ["fwd", "fastest"]}, UnknownStrategyError,
     "unknown strategy 'fastest'; choose one of: fwd, bwd, optimal, brute, multi_dot"),
    ({"strategies": []}, UnknownStrategyError, "no strategies"),
    ({"strategies": ["fwd", "fwd"]}, UnknownStrategyError, "twice"),
    ({"layers": "cnn"}, ChainoptError, "unknown layers 'cnn'; choose one of: random, mlp, resnet"),
    ({"layers": "resnet"}, ChainoptError, "needs equal dims"),
    ({"repeats": 0}, ChainoptError, "repeats is 0; expected an integer >= 1"),
    ({"warmup": -1}, ChainoptError, "warmup is -1"),
    ({"dtype": np.int32}, ChainoptError, "int32 is not supported"),
    ({"budget": 100}, MemoryBudgetError, "benchmarking 6 -> 9 -> 2 -> 9 -> 6 would need"),
])
def test_bad_arguments_fail_before_any_work(monkeypatch, kwargs, error, message):
    monkeypatch.setattr(timing, "peak_matmul_rate", lambda *a, **k: pytest.fail("measured before checking"))
    monkeypatch.setattr(workloads, "random_jacobians", lambda *a, **k: pytest.fail("allocated before checking"))
    with pytest.raises(error, match=message):
        co.benchmark(DIMS, **{"peak_size": 8, **kwargs})


def test_bad_given_jacobians():
    with pytest.raises(ShapeError, match="A_2 has shape"):
        co.benchmark([np.ones((3, 2)), np.ones((4, 2))], repeats=1, peak_size=None)
    with pytest.raises(co.NonFiniteError, match="A_1 has 1 non-finite"):
        co.benchmark([np.array([[np.inf, 1.0]]), np.ones((4, 1))], repeats=1, peak_size=None)


def test_repeats_are_interleaved_after_warmup():
    calls = []
    clock = iter(range(100))
    funcs = {name: (lambda name=name: calls.append(name)) for name in "ABC"}
    times = time_interleaved(funcs, repeats=3, warmup=2, prime=False, rotate=False, timer=lambda: next(clock))
    assert "".join(calls) == "ABC" * 5
    assert times == {"A": [1, 1, 1], "B": [1, 1, 1], "C": [1, 1, 1]}


def test_primed_repeats_call_each_function_right_before_timing_it():
    calls, log = [], []
    clock = iter(range(100))

    def timer():
        log.append("".join(calls))  # what had run when the clock was read
        return next(clock)

    funcs = {name: (lambda name=name: calls.append(name)) for name in "AB"}
    time_interleaved(funcs, repeats=2, warmup=1, rotate=False, timer=timer)
    assert "".join(calls) == "AB" + "AABB" * 2
    # the clock starts right after the untimed call and stops right after the timed one
    assert log == ["ABA", "ABAA", "ABAAB", "ABAABB", "ABAABBA", "ABAABBAA", "ABAABBAAB", "ABAABBAABB"]


def test_rounds_rotate_and_numbers_divide():
    calls = []
    clock = iter(range(1000))
    funcs = {name: (lambda name=name: calls.append(name)) for name in "ABC"}
    times = time_interleaved(funcs, repeats=4, warmup=0, prime=False, number={"A": 1, "B": 2, "C": 4},
                             timer=lambda: next(clock) * 12)
    assert "".join(calls) == "A" "BB" "CCCC" + "BB" "CCCC" "A" + "CCCC" "A" "BB" + "CCCC" "BB" "A"  # balanced orders
    assert times == {"A": [12.0] * 4, "B": [6.0] * 4, "C": [3.0] * 4}  # per call


def test_autorange_picks_enough_calls():
    clock = iter([0.0, 0.001, 0.0, 0.5])
    assert autorange({"fast": lambda: None, "slow": lambda: None}, 0.02, timer=lambda: next(clock)) == {
        "fast": 20, "slow": 1}


def test_progress_is_reported_per_repeat():
    messages = []
    time_interleaved({"A": lambda: None}, repeats=2, warmup=0, progress=messages.append)
    assert messages == ["repeat 1/2", "repeat 2/2"]


@pytest.mark.filterwarnings("error::chainopt.bench.harness.TimingSpreadWarning")
def test_spread_over_four_times_warns():
    assert check_spread({"fwd": [1.0, 4.0], "bwd": [2.0, 2.5]}) == []  # exactly 4x: no warning
    with pytest.warns(TimingSpreadWarning, match=r"optimal: the slowest repeat \(5 s\) is 5.0x the fastest") as record:
        assert check_spread({"fwd": [1.0, 4.0], "optimal": [1.0, 5.0, 2.0]}) == ["optimal"]
    assert len(record) == 1 and issubclass(TimingSpreadWarning, RuntimeWarning)


def test_benchmark_passes_the_spread_warning_on(monkeypatch):
    monkeypatch.setattr(timing, "time_interleaved", lambda funcs, **k: {n: [1e-3, 9e-3] for n in funcs})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = co.benchmark([3, 4, 5], repeats=2, peak_size=None)
    assert sum(issubclass(w.category, TimingSpreadWarning) for w in caught) == 4
    assert (res.summary["spread"] == 9).all()


def test_peak_rate_arguments():
    peak = peak_matmul_rate(8, repeats=1)
    assert peak.gflops == pytest.approx(2 * 8**3 / peak.seconds[0] / 1e9)
    with pytest.raises(ChainoptError, match="size is 0"):
        peak_matmul_rate(0)
    with pytest.raises(MemoryBudgetError, match="the 100 x 100 peak-rate product would need 240,000 bytes"):
        peak_matmul_rate(100, budget=1000)


def test_json_has_no_nan_when_the_peak_is_skipped():
    res = co.benchmark([5, 6, 7], repeats=1, peak_size=None)
    text = res.to_json()
    assert "NaN" not in text
    data = json.loads(text)
    assert all(row["peak_fraction"] is None for row in data["summary"])


def test_peak_is_measured_in_the_benchmarks_dtype():
    res = co.benchmark([5, 6, 7], repeats=1, peak_size=32, dtype=np.float32)
    assert res.peak.dtype == "float32" and "32 x 32 float32 @" in res.to_text()


@pytest.mark.parametrize("seed", [-1, 1.5, "x", True])
def test_bad_seeds_are_chainopt_errors(seed):
    with pytest.raises(co.ChainoptError, match="seed .* is not allowed"):
        co.benchmark([5, 6, 7], repeats=1, peak_size=None, seed=seed)
    with pytest.raises(co.ChainoptError, match="seed .* is not allowed"):
        co.random_jacobians([5, 6, 7], seed=seed)


def test_multi_dot_is_refused_on_long_chains_where_it_would_time_its_own_order_search():
    from chainopt.execution import MULTI_DOT_MAX_FACTORS

    dims = [2] * (MULTI_DOT_MAX_FACTORS + 2)
    with pytest.raises(ChainoptError, match=f"at most {MULTI_DOT_MAX_FACTORS} factors: leave it out"):
        co.benchmark(dims, strategies=["optimal", "multi_dot"], repeats=1, peak_size=None)
    res = co.benchmark(dims, strategies=["optimal"], repeats=1, peak_size=None)
    assert list(res.summary["strategy"]) == ["optimal"]

"""Smoke test of the shapes benchmark: quick mode writes its files with computed targets."""

import numpy as np
import pandas as pd
import pytest

import chainopt as co
from chainopt.experiments import bench_shapes

# a smoke test of the benchmark's files and verdicts, not a measurement: 1 ms measurements (conftest.short_measurements)
pytestmark = pytest.mark.usefixtures("short_measurements")


def brute_or_dp(dims):
    """The optimal cost by an independent oracle: exhaustive search when short, numpy's DP otherwise."""
    if len(dims) - 1 <= 8:
        return min(p.cost for p in co.all_plans(dims))
    from numpy.linalg._linalg import _multi_dot_matrix_chain_order

    shapes = [np.empty((b, a)) for a, b in zip(dims, dims[1:])][::-1]
    return int(_multi_dot_matrix_chain_order(shapes, return_costs=True)[1][0, -1])


def test_quick_main_writes_markdown_and_csv(tmp_path):
    result = bench_shapes.main(tmp_path, quick=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.csv", "bench.md"]
    df = pd.read_csv(tmp_path / "bench.csv")
    assert len(df) == 6 * 2 * 4  # shapes x layers x strategies
    assert set(df["shape"]) == set(bench_shapes.SHAPES) and set(df["layers"]) == {"random", "mlp"}
    assert (df["max_rel_diff"] < 1e-12).all() and (df["median_s"] > 0).all()
    # the executed chains: random on the (scaled) dims, mlp with repeated hidden widths
    hourglass = df[df["shape"] == "hourglass"].set_index("layers")["chain"]
    assert hourglass["random"].iloc[0] == "100,10,1,10,100"
    assert hourglass["mlp"].iloc[0] == "100,10,10,1,1,10,10,100"
    text = (tmp_path / "bench.md").read_text()
    for needle in ("peak matmul rate", "BLAS", "date:", "## Targets", "executor overhead", "quick mode"):
        assert needle in text
    met, total = result["targets"]["optimal"]
    assert total == 12 and f"({met} of 12 cases" in text
    missed = sum(c["optimal_target_missed"] for c in result["cases"])
    overall = "met" if met == 12 else "not met" if missed else "undecided"
    assert f"multi_dot: **{overall}** ({met} of 12 cases" in text
    for c in result["cases"]:  # a winner is named only when every other strategy was measurably slower
        cell = (c["fastest"] if c["fastest_verdict"] == "fastest"
                else f"none measurably ({c['fastest']} has the lowest median)")
        assert c["fastest_verdict"] == "fastest" or c["fastest_verdict"].startswith("lowest median; ")
        assert f"| {cell} |" in text
    cases = result["cases"]
    assert len(cases) == 12 and result["reading"].startswith("On 12 cases")
    for c in cases:  # every figure and verdict recomputed from the raw CSV and the closed-form costs
        rows = df[(df["shape"] == c["shape"]) & (df["layers"] == c["layers"])].set_index("strategy")
        rival = rows.loc[["fwd", "bwd", "multi_dot"], "median_s"].min()
        optimal = rows.loc["optimal", "median_s"]
        assert c["optimal_vs_fastest_rival"] == pytest.approx(optimal / rival - 1)
        low, high = c["optimal_vs_fastest_rival_low"], c["optimal_vs_fastest_rival_high"]
        assert c["optimal_target_met"] == bool(high <= 0.05) and c["optimal_target_missed"] == bool(low > 0.05)
        dims = [int(d) for d in c["chain"].split(",")]
        assert c["predicted_speedup"] == pytest.approx(min(co.fwd_cost(dims), co.bwd_cost(dims)) / brute_or_dp(dims))
        assert c["overhead_target_met"] == bool(c["executor_overhead_high"] < 0.05)
        assert c["overhead_target_missed"] == bool(c["executor_overhead_low"] >= 0.05)


def test_bare_function_runs_the_plan_as_written():
    dims = [5, 7, 2, 6, 3, 4]
    mats = co.random_jacobians(dims, seed=1)
    for name in ("fwd", "bwd", "optimal"):
        p = co.plan(dims, name)
        bare = bench_shapes.bare_function(p)
        assert bare.source.count("@") == len(p.splits)
        assert np.array_equal(bare(mats), co.execute(p, mats))  # same products, same order: bit for bit
    one = bench_shapes.bare_function(co.plan([3, 4], "fwd"))
    assert np.array_equal(one([np.ones((4, 3))]), np.ones((4, 3)))

"""Smoke test of the shapes benchmark: quick mode writes its files with computed targets."""

import numpy as np
import pandas as pd

import chainopt as co
from chainopt.experiments import bench_shapes


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
    assert total == 12 and f"({met} of 12 cases)" in text
    cases = result["cases"]
    assert len(cases) == 12 and result["reading"].startswith("On 12 cases")
    for c in cases:  # the verdicts follow from the figures
        assert c["optimal_target_met"] == (c["optimal_vs_fastest_rival"] <= 0.05 + 1e-12)
        assert c["overhead_target_met"] == (c["executor_overhead"] < 0.05)


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

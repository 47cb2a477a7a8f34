"""Issue 12: no hidden per-call work, and bad input refused in one line (library: a ChainoptError naming the value;
command line: exit status 2, one stderr line, no traceback), before any expensive work."""

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.bench.overhead import bare_expression, public_api_overhead
from chainopt.cli import main
from chainopt.errors import ChainoptError, NonFiniteError, PlanSyntaxError, ShapeError
from chainopt.execution import executor, written_order
from chainopt.execution.cache import cached_plan, plan_cache_clear, plan_cache_info
from chainopt.execution.validate import check_result_finite

ROOT = Path(__file__).resolve().parents[1]

# -- no hidden per-call work ----------------------------------------------------------------------


def test_multiply_plans_once_per_dims():
    plan_cache_clear()
    mats = co.random_jacobians([6, 5, 4, 3, 2], seed=0)
    first = co.multiply(mats, "optimal")
    for _ in range(5):
        assert np.array_equal(co.multiply(mats, "optimal"), first)
    info = plan_cache_info()
    assert (info.misses, info.hits) == (1, 0)  # later calls with these shapes run the compiled plan directly
    co.multiply(mats, "fwd")  # another strategy is another key
    assert plan_cache_info().misses == 2
    co.multiply([m.astype(np.float32) for m in mats], "optimal")  # another dtype: planned again from the cache
    assert plan_cache_info().hits == 1


def test_cached_plan_is_the_strategys_plan_and_keys_on_options():
    plan_cache_clear()
    dims = (30, 35, 15, 5, 10, 20, 25)
    assert cached_plan(dims, "optimal") == co.plan(list(dims), "optimal")
    assert cached_plan(dims, "optimal").cost == 15125  # CLRS 15.2
    assert cached_plan(dims, "optimal") is cached_plan(list(dims), "optimal")
    assert cached_plan(dims, "optimal") is not cached_plan(dims, "optimal", machines=2)


def test_float_arrays_skip_the_full_input_scan_and_are_not_copied(monkeypatch):
    mats = co.random_jacobians([5, 4, 3, 2], seed=1)
    expected = functools.reduce(np.matmul, written_order(mats))
    monkeypatch.setattr(executor, "check_jacobians", lambda *a, **k: pytest.fail("scanned every input"))
    seen = []
    real_run = executor._run
    monkeypatch.setattr(executor, "_run", lambda plan, arrays: seen.append(arrays) or real_run(plan, arrays))
    assert np.allclose(co.multiply(mats, "optimal"), expected)
    assert np.allclose(co.execute(co.plan([5, 4, 3, 2]), mats), expected)
    assert all(a is m for arrays in seen for a, m in zip(arrays, mats))  # the caller's arrays, not copies


def test_lists_and_integers_still_take_the_full_check():
    mats = [[[1, 2], [3, 4], [5, 6]], np.array([[1, 1, 1]], dtype=np.int8)]
    assert co.multiply(mats).tolist() == [[9.0, 12.0]]


_BAD = st.sampled_from([np.nan, np.inf, -np.inf])


BAD_CHAINS = {"dims": st.lists(st.integers(1, 5), min_size=2, max_size=6), "data": st.data()}


# 15 examples: test_execute's test_a_non_finite_factor_is_named_though_only_the_result_is_checked checks 27 fixed
# cases; the _thorough twin (-m slow) runs 60
@fewer_examples(15)
@given(**BAD_CHAINS)
def test_a_non_finite_entry_anywhere_is_caught_on_the_result_and_named(dims, data):
    mats = co.random_jacobians(dims, seed=0)
    zeros = data.draw(st.booleans())
    for m in mats:
        if zeros:  # 0 * inf is NaN: zeros must not hide a bad entry
            m[data.draw(st.integers(0, m.shape[0] - 1)), :] = 0.0
    k = data.draw(st.integers(0, len(mats) - 1))
    i = data.draw(st.integers(0, mats[k].shape[0] - 1))
    j = data.draw(st.integers(0, mats[k].shape[1] - 1))
    mats[k][i, j] = data.draw(_BAD)
    strategy = data.draw(st.sampled_from(["fwd", "bwd", "optimal"]))
    with pytest.raises(NonFiniteError, match=rf"^A_{k + 1} has 1 non-finite entry"):
        co.multiply(mats, strategy)
    if len(mats) == 1:
        return  # one factor is checked whole
    # and the unchecked product really is non-finite in row 0 or column 0 (the property the check relies on)
    with np.errstate(all="ignore"):
        product = co.multiply(mats, strategy, check_finite=False)
    assert not (np.isfinite(product[0]).all() and np.isfinite(product[:, 0]).all())


test_a_non_finite_entry_anywhere_is_caught_on_the_result_and_named_thorough = slow_twin(
    test_a_non_finite_entry_anywhere_is_caught_on_the_result_and_named, **BAD_CHAINS, max_examples=60)


def test_an_overflowing_product_of_finite_factors_is_returned():
    big = [np.full((2, 2), 1e200), np.full((2, 2), 1e200)]
    with np.errstate(over="ignore"):
        assert np.isinf(check_result_finite(big[1] @ big[0], big)).all()


def test_bare_expression_is_the_plans_product():
    dims = [20, 200, 5, 200, 20]
    mats = co.random_jacobians(dims, seed=2)
    for strategy in ("fwd", "bwd", "optimal"):
        plan = co.plan(dims, strategy)
        bare = eval(f"lambda m: {bare_expression(plan)}")
        assert np.array_equal(bare(mats), co.execute(plan, mats))
    assert bare_expression(co.plan([2, 3])) == "m[0].copy()"


def test_public_api_overhead_rows():
    rows = public_api_overhead({"small": (4, 6, 5, 3), "funnel": (40, 30, 1)}, seconds=0.01, min_rounds=5)
    assert [r["shape"] for r in rows] == ["small", "funnel"]
    for r in rows:
        assert r["rounds"] >= 5
        assert r["plan"] == str(co.plan(r["dims"]))
        for label in ("multiply", "execute"):
            low, high = r[f"{label}_ratio_iqr"]
            assert 0 < low <= r[f"{label}_ratio"] <= high
        assert min(r["bare"], r["multiply"], r["execute"]) > 0


# -- multi_dot cannot be mistaken for numpy's ---------------------------------------------------------


def test_multi_dot_takes_layers_by_keyword_only():
    a1, a2 = np.arange(4.0).reshape(2, 2), np.arange(4.0, 8.0).reshape(2, 2)  # square: both orders would run
    assert np.array_equal(co.multi_dot(layers=[a1, a2]), a2 @ a1)
    assert np.array_equal(co.multi_dot(layers=[a1, a2]), np.linalg.multi_dot(written_order([a1, a2])))
    with pytest.raises(ChainoptError, match=r"layer order .*multi_dot\(layers=.*written order"):
        co.multi_dot([a1, a2])
    with pytest.raises(ChainoptError, match="by keyword"):
        co.multi_dot()


# -- execute on Dask -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_execute_with_a_scheduler_runs_on_dask(scheduler):
    pytest.importorskip("dask")
    dims = [30, 40, 5, 40, 30]
    mats = co.random_jacobians(dims, seed=3)
    plan = co.plan(dims, "optimal")
    J = co.execute(plan, mats, scheduler=scheduler)
    assert np.allclose(J, functools.reduce(np.matmul, written_order(mats)), rtol=1e-12, atol=0)
    with pytest.raises(ChainoptError, match="unknown scheduler"):
        co.execute(plan, mats, scheduler="fast")


def test_execute_with_a_scheduler_but_no_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ChainoptError, match=r'scheduler=\'threads\'.*pip install "chainopt\[dask\]"'):
        co.execute(co.plan([2, 3, 4]), co.random_jacobians([2, 3, 4]), scheduler="threads")


# -- library errors name the value ------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 5, "A1"])
def test_from_jacobians_of_a_non_list(value):
    with pytest.raises(ShapeError, match=f"got {type(value).__name__}"):
        co.Chain.from_jacobians(value)


def test_random_jacobians_budget_as_the_cli_takes_it():
    assert [a.shape for a in co.random_jacobians([2, 3], budget="2G")] == [(3, 2)]
    with pytest.raises(co.MemoryBudgetError, match="budget allows 10 bytes"):
        co.random_jacobians([2, 3], budget="10")
    for bad, match in ((-1, "budget -1 is negative"), ("lots", "budget 'lots' is not a size"),
                       (2.5, "budget 2.5 .*float"), (True, "budget True")):
        with pytest.raises(ChainoptError, match=match):
            co.random_jacobians([2, 3], budget=bad)
    with pytest.raises(ChainoptError, match="budget -1 is negative"):
        co.execute(co.plan([2, 3]), co.random_jacobians([2, 3]), budget=-1)


def test_random_jacobians_refuses_a_bad_seed_before_allocating(monkeypatch):
    monkeypatch.setattr(np.random, "default_rng", lambda *a, **k: pytest.fail("allocated"))
    with pytest.raises(ChainoptError, match="seed -1 is not allowed"):
        co.random_jacobians([2, 3], seed=-1)


@pytest.mark.slow
def test_benchmark_accepts_a_single_strategy_name():
    res = co.benchmark([5, 4, 3], strategies="fwd", repeats=1, peak_size=None)
    assert list(res.summary["strategy"]) == ["fwd"]


@pytest.mark.parametrize(
    "text, match",
    [
        ("", r"the plan is empty.*write A1..A2, e.g. 'A2 A1'"),
        ("   ", "the plan is empty"),
        ("A0 A1", r"A0 is not a factor .*A1..A2, numbered from 1"),
        ("A2 A01", "A01 is not a factor"),
        ("A3 A1", "A3 is not a factor"),
        ("A" + "9" * 5000, r"is not a factor"),
    ],
)
def test_plan_parse_messages(text, match):
    with pytest.raises(PlanSyntaxError, match=match) as info:
        co.Plan.parse(text, co.Chain([2, 3, 4]))
    assert len(str(info.value)) < 300


def test_all_plans_is_lazy():
    plans = co.all_plans(range(1, 21))  # 477,638,700 bracketings: only a lazy enumeration can start
    first = next(iter(plans))
    assert str(first).startswith("A19 (A18 (A17")
    assert first == co.plan(list(range(1, 21)), "fwd")


# -- the command line --------------------------------------------------------------------------------

#: (argv, a part of the one stderr line)
CLI_CASES = [
    (["report", "--quick", "--only", "notes_claim", "--seed", "-1", "--out", "OUT"], "seed -1 is not allowed"),
    (["report", "--quick", "--only", "optimal_vs_pure", "--seed", "-1", "--out", "OUT"], "seed -1 is not allowed"),
    (["report", "--quick", "--only", "dp_scaling", "--seed", "-1", "--out", "OUT"], "seed -1 is not allowed"),
    (["crossover", "--quick", "--seed", "-1", "--out", "OUT"], "seed -1 is not allowed"),
    (["report", "--only", "", "--out", "OUT"], "--only '' names no experiment; choose from: crossover"),
    (["report", "--only", "crossover,crossover", "--out", "OUT"], "names crossover twice"),
    (["report", "--only", "crossover,,bench", "--out", "OUT"], "an empty name"),
    (["report", "--quick", "--only", "notes_claim", "--out", ""], "--out '' names no folder"),
    (["sweep", "chain:5,8,3", "--activation", "log"], "--activation log is not finite at its seeded point x = ["),
    (["sweep", "chain:5,8,3", "--activation", "sqrt"], "--activation sqrt is not finite at its seeded point"),
    (["sweep", "notes3", "--at", "x=2"], "'notes3' is not a built-in example (those are: notes1, notes2"),
    (["sweep", "x = 2; x*3", "--at", "x=1"], "assigning to 'x' is not allowed: 'x' is an input"),
    (["sweep", "-x"], "chainopt sweep --at x=1 -- -x"),
    (["sweep", "chain:5,,3"], "empty dim in 'chain:5,,3'"),
    (["sweep", "chain:5," + "9" * 5000], "whole numbers (at most 18 digits)"),
    (["sweep", "(" * 10000 + "x" + ")" * 10000, "--at", "x=1"], "too many nested parentheses"),
    (["sweep", "x*" + "9" * 5000, "--at", "x=1"], "has more than 4,300 digits"),
    (["sweep", "x*2", "--at", "x=" + "9" * 5000], "the value must be finite"),
    (["bench", "5", "3", "2", "--seed", "-1"], "seed -1 is not allowed"),
    (["bench", "5", "3", "2", "--strategies", "fwd,fastest"], "unknown strategy 'fastest'"),
]


def _argv(argv, out_dir):
    return [str(out_dir) if word == "OUT" else word for word in argv]


@pytest.mark.parametrize("argv, part", CLI_CASES, ids=[" ".join(a)[:40] for a, _ in CLI_CASES])
def test_cli_refuses_in_one_line(argv, part, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(_argv(argv, tmp_path / "out"))
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert len(err.splitlines()) == 1 and part in err and len(err) < 400
    assert "set_int_max_str_digits" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_bench_refuses_the_seed_before_the_peak_measurement(monkeypatch, capsys):
    import chainopt.bench.harness as harness

    monkeypatch.setattr(harness, "peak_matmul_rate", lambda *a, **k: pytest.fail("measured before validating"))
    assert main(["bench", "5", "3", "2", "--seed", "-1"]) == 2
    assert "seed -1" in capsys.readouterr().err


#: The cases run as real processes by default (all of them with -m slow): one per kind of refusal.
QUICK_PROCESS_CASES = (0, 8, 12, 18)


def _refusals_in_real_processes(tmp_path, cases, scripts):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    commands = [[sys.executable, "-m", "chainopt", *_argv(CLI_CASES[i][0], tmp_path / "out")] for i in cases]
    commands += [[sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--quick", "--seed", "-1",
                  "--out", str(tmp_path / "out")] for name in scripts]
    procs = [subprocess.Popen(c, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    for command, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=120)
        label = " ".join(command[2:])[:60]
        assert proc.returncode == 2, label
        assert out == "" and len(err.splitlines()) == 1, (label, err[:500])
        assert "Traceback" not in err and "Warning" not in err, label
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cli_refusals_in_real_processes(tmp_path):
    """One case of each kind through ``python -m chainopt`` and an experiment script: status 2, one line."""
    _refusals_in_real_processes(tmp_path, QUICK_PROCESS_CASES, ["notes_claim"])


@pytest.mark.slow
def test_every_cli_refusal_in_real_processes(tmp_path):
    """Every case above, and the three experiment scripts, as real processes run side by side."""
    _refusals_in_real_processes(tmp_path, range(len(CLI_CASES)), ["notes_claim", "optimal_vs_pure", "dp_scaling"])


def test_sweep_usage_advertises_one_expr(capsys):
    assert main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    assert "EXPR [EXPR ...]" not in out and "[--format {text,markdown,csv,json}]\n" in out
    assert "--max-rows" in out


def test_sweep_output_is_bounded(capsys):
    def size(n):
        program = "; ".join(["y = x*2"] + [f"z{i} = y*{i}" for i in range(n)] + [", ".join(f"z{i}" for i in range(n))])
        assert main(["sweep", program, "--at", "x=1"]) == 0
        out = capsys.readouterr().out
        assert max(map(len, out.splitlines())) < 400
        return len(out)

    small, large = size(20), size(120)
    assert large < 2 * small + 20_000  # bounded: 6x the outputs and nodes, not 36x the text
    program = "; ".join(["y = x*2"] + [f"z{i} = y*{i}" for i in range(120)] + ["z0"])
    assert main(["sweep", program, "--at", "x=1", "--max-rows", "0"]) == 0
    assert "z119" in capsys.readouterr().out  # --max-rows 0 shows every node
    assert main(["sweep", program, "--at", "x=1"]) == 0
    assert "more nodes not shown" in capsys.readouterr().out

"""The one-call API's fast path: plans compiled to ``@`` statements, found again by the call's signature.

Oracles: the bare ``@`` tree of the same plan (bit for bit: the same products
in the same order), ``functools.reduce(np.matmul, ...)``, and the full path
(``check_jacobians`` and the executor's loop) for every call the fast path
must not serve.
"""

import functools
import tracemalloc
import warnings

import numpy as np
import pytest

import chainopt as co
from chainopt.bench.overhead import bare_expression
from chainopt.errors import NonFiniteError
from chainopt.execution import compiled, executor, written_order
from chainopt.execution.cache import plan_cache_clear


def bare_tree(plan):
    return eval(f"lambda m: {bare_expression(plan)}")  # the plan's ints only


@pytest.fixture(autouse=True)
def fresh():
    plan_cache_clear()
    yield
    plan_cache_clear()


@pytest.mark.parametrize("strategy", ["fwd", "bwd", "optimal"])
@pytest.mark.parametrize("dims", [(3, 4), (2, 3, 4), (5, 7, 2, 6, 3, 4), (1, 6, 1, 6, 1), (6, 1, 5)])
@pytest.mark.parametrize("check_finite", [True, False])
def test_every_call_gives_the_plans_own_product(strategy, dims, check_finite):
    mats = co.random_jacobians(dims, seed=len(dims))
    plan = co.plan(list(dims), strategy)
    expected = bare_tree(plan)(mats)
    for _ in range(3):  # the first call compiles, the others find it
        assert np.array_equal(co.multiply(mats, strategy, check_finite=check_finite), expected)
        assert np.array_equal(co.execute(plan, mats, check_finite=check_finite), expected)
    assert compiled.compiled_cache_size() == (2 if len(dims) > 2 else 0)  # one factor is a copy, not compiled
    assert np.allclose(expected, functools.reduce(np.matmul, written_order(mats)))


def test_the_fast_path_runs_no_check_and_no_loop(monkeypatch):
    mats = co.random_jacobians([6, 5, 4, 3, 2], seed=0)
    plan = co.plan([6, 5, 4, 3, 2], "optimal")
    first = co.multiply(mats), co.execute(plan, mats)
    for name in ("plain_arrays", "check_jacobians", "_run", "cached_plan", "remember"):
        monkeypatch.setattr(executor, name, lambda *a, **k: pytest.fail("the fast path took the full path"))
    assert np.array_equal(co.multiply(mats), first[0])
    assert np.array_equal(co.execute(plan, mats), first[1])


def test_execute_tells_plans_of_the_same_dims_apart():
    dims = [4, 9, 3, 8, 5]
    mats = co.random_jacobians(dims, seed=3)
    plans = [co.plan(dims, s) for s in ("fwd", "bwd", "optimal")] + [co.plan(dims, "fwd")]  # a second fwd object
    for _ in range(2):
        for plan in plans:
            assert np.array_equal(co.execute(plan, mats), bare_tree(plan)(mats))
    assert len(compiled.by_plan) == len(plans)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_factor_on_the_fast_path_is_named_without_a_warning(bad):
    mats = co.random_jacobians([3, 4, 5, 2], seed=1)
    plan = co.plan([3, 4, 5, 2], "optimal")
    co.multiply(mats), co.execute(plan, mats)  # compiled for these shapes
    for k in range(3):
        broken = [m.copy() for m in mats]
        broken[k][:, 1] = 0.0
        broken[k][-1, -1] = bad
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(NonFiniteError, match=f"A_{k + 1} has 1 non-finite entry"):
                co.multiply(broken)
            with pytest.raises(NonFiniteError, match=f"A_{k + 1} has 1 non-finite entry"):
                co.execute(plan, broken)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # check_finite=False: numpy's own behaviour, warnings included
            assert not np.isfinite(co.multiply(broken, check_finite=False)).all()
    assert compiled.compiled_cache_size() == 3


def test_vector_results_are_tested_by_their_one_row_or_column():
    for dims, bad_factor in [((5, 4, 1), 0), ((1, 4, 5), 1), ((1, 3, 1), 0)]:
        mats = co.random_jacobians(dims, seed=2)
        co.multiply(mats)
        mats[bad_factor][0, 0] = np.inf
        with pytest.raises(NonFiniteError, match=f"A_{bad_factor + 1}"):
            co.multiply(mats)
    assert "row.dot(row) + column" not in compiled.products_source(co.plan([5, 4, 1]), check_finite=True)


def test_finite_factors_whose_squares_overflow_are_returned_on_the_fast_path_too():
    mats = [np.full((2, 3), 1e200), np.full((4, 2), 1.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            np.testing.assert_array_equal(co.multiply(mats), mats[1] @ mats[0])


class Tagged(np.ndarray):
    """An ndarray subclass: its ``@`` could be anything, so it is never compiled for."""


def one_of_each(dims, dtype):
    return [m.astype(dtype) for m in co.random_jacobians(dims, seed=4)]


@pytest.mark.parametrize("mats", [
    one_of_each([3, 4, 2], np.float16),                       # its finiteness test is elementwise
    one_of_each([3, 4, 2], np.int64),                         # converted to float64 by the full check
    [m.view(Tagged) for m in co.random_jacobians([3, 4, 2], seed=4)],   # not exactly an ndarray
    [m.tolist() for m in co.random_jacobians([3, 4, 2], seed=4)],       # not arrays at all
])
def test_calls_the_fast_path_must_not_serve_take_the_full_path_every_time(mats):
    expected = co.multiply(mats)
    assert np.array_equal(co.multiply(mats), expected)
    assert compiled.compiled_cache_size() == 0


def test_a_generator_a_budget_and_a_scheduler_take_the_full_path():
    mats = co.random_jacobians([3, 4, 2, 5], seed=5)
    plan = co.plan([3, 4, 2, 5])
    co.multiply(iter(mats))  # consumed once, by the full path: compiled for the list it made
    assert np.array_equal(co.multiply(iter(mats)), co.multiply(mats))
    co.execute(plan, mats, budget="1G")
    assert len(compiled.by_plan) == 0


def test_a_plan_the_default_budget_could_refuse_is_never_compiled(monkeypatch):
    mats = co.random_jacobians([30, 40, 20], seed=6)
    plan = co.plan([30, 40, 20])
    monkeypatch.setattr(executor, "BUDGET_FLOOR", plan.peak_memory * 32 - 1)
    assert np.array_equal(co.execute(plan, mats), mats[1] @ mats[0])
    assert compiled.compiled_cache_size() == 0


def test_a_new_dtype_or_shape_is_a_new_entry_and_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(compiled, "COMPILED_CACHE_SIZE", 3)
    for n in range(2, 8):
        mats = co.random_jacobians([n, 3, 2], seed=n)
        for dtype in (np.float64, np.float32, np.complex128):
            result = co.multiply([m.astype(dtype) for m in mats])
            assert result.dtype == dtype
            assert len(compiled.by_strategy) <= 3
    newest = [key[2][1] for key in compiled.by_strategy]
    assert newest == [(3, 7)] * 3


def test_intermediates_are_freed_as_the_plan_says():
    dims = [300, 300, 300, 300, 300]
    mats = co.random_jacobians(dims, seed=7)
    plan = co.plan(dims, "bwd")
    run = compiled.compile_products(plan, check_finite=True)
    run(mats)
    tracemalloc.start()
    try:
        run(mats)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    entries = plan.peak_memory  # two 300 x 300 matrices at the worst moment; keeping t0 would make it three
    assert entries * 8 <= peak < (entries + 300 * 300 // 2) * 8


def _check_quiet_hooks(enter, leave):
    """Inside: the caller's state with ``invalid`` ignored (0 * inf is silent, an overflow still warns)."""
    before = np.geterr()
    for outer in ({}, {"over": "raise", "under": "warn"}):
        with np.errstate(**outer):
            caller = np.geterr()
            state = enter()
            try:
                assert np.geterr() == caller | {"invalid": "ignore"}
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    assert np.isnan(np.array([[np.inf]]) @ np.array([[0.0]])).all()
            finally:
                leave(state)
            assert np.geterr() == caller
    assert np.geterr() == before


def test_the_quiet_hooks_fall_back_to_errstate(monkeypatch):
    monkeypatch.delattr("numpy._core.umath._extobj_contextvar", raising=False)
    _check_quiet_hooks(*compiled._quiet_hooks())


def test_the_quiet_hooks_ignore_only_invalid_and_restore():
    _check_quiet_hooks(*compiled.quiet)


@pytest.mark.parametrize("call", ["multiply", "execute"])
def test_an_overflow_of_finite_factors_warns_as_numpy_does_on_every_call(call):
    a, b = np.eye(4), np.eye(4)
    a[2, 2] = b[2, 2] = 1e200  # finite factors; their product overflows at (2, 2), off the tested row and column
    plan = co.plan([4, 4, 4])
    run = (lambda: co.multiply([a, b])) if call == "multiply" else (lambda: co.execute(plan, [a, b]))
    for _ in range(3):  # the full path, then the compiled fast path
        with pytest.warns(RuntimeWarning, match="overflow"):
            result = run()
        assert np.isinf(result[2, 2]) and np.isfinite(np.delete(result.ravel(), 10)).all()
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        run()  # the caller's error state holds inside
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            assert np.isinf(run()[2, 2])


def test_an_infinite_factor_is_named_without_numpys_invalid_warning_on_every_call():
    a, b = np.ones((4, 3)), np.ones((2, 4))
    a[1, 2] = np.inf
    b[0, 1] = 0.0  # 0 * inf: numpy's @ alone would warn "invalid value"
    for _ in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(co.NonFiniteError, match=r"A_1 has 1 non-finite entry, the first inf at \(1, 2\)"):
                co.multiply([a, b])

"""The executor against the naive product, and every way its input can be wrong."""

import functools
import importlib
import warnings

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.core.strategies import STRATEGIES, all_plans
from chainopt.errors import MemoryBudgetError, NonFiniteError, ShapeError, UnknownStrategyError
from chainopt.execution import (
    BUDGET_FLOOR,
    MemoryEstimate,
    available_memory,
    check_memory,
    memory_estimate,
    multiply,
    written_order,
)
from chainopt.execution import budget as budget_module

NAMES = [*STRATEGIES, "multi_dot"]


def reference(mats):
    """The oracle: the written product, left to right."""
    return functools.reduce(np.matmul, written_order(mats))


def tolerance(dims, dtype):
    """Rounding-error scale of a product along ``dims``: inner dims times eps."""
    return 8 * (sum(dims[1:-1]) + 1) * np.finfo(dtype).eps


chains = st.lists(st.integers(1, 9), min_size=2, max_size=8)
product_cases = {"dims": chains, "seed": st.integers(0, 2**16), "dtype": st.sampled_from([np.float64, np.float32])}
bracketing_cases = {"dims": st.lists(st.integers(1, 6), min_size=2, max_size=6), "seed": st.integers(0, 99)}


# 12 examples each here; their _thorough twins (-m slow) run 60
@fewer_examples(12)
@given(**product_cases)
def test_every_strategy_equals_the_naive_product(dims, seed, dtype):
    mats = co.random_jacobians(dims, seed=seed, dtype=dtype)
    ref = reference(mats)
    scale = functools.reduce(np.matmul, [np.abs(a) for a in written_order(mats)])
    for name in NAMES:
        if name == "brute" and len(dims) - 1 > 12:
            continue
        got = multiply(mats, name)
        assert got.shape == (dims[-1], dims[0]) and got.dtype == dtype
        assert np.all(np.abs(got - ref) <= tolerance(dims, dtype) * scale), name


test_every_strategy_equals_the_naive_product_thorough = slow_twin(
    test_every_strategy_equals_the_naive_product, **product_cases, max_examples=60)


@fewer_examples(12)
@given(**bracketing_cases)
def test_every_bracketing_equals_the_naive_product(dims, seed):
    mats = co.random_jacobians(dims, seed=seed)
    ref = reference(mats)
    for p in all_plans(dims):
        np.testing.assert_allclose(co.execute(p, mats), ref, rtol=1e-12, atol=1e-12)


test_every_bracketing_equals_the_naive_product_thorough = slow_twin(
    test_every_bracketing_equals_the_naive_product, **bracketing_cases, max_examples=60)


def test_mixed_precision_promotes_and_integers_become_float64():
    mats = co.random_jacobians([3, 4, 5], seed=1, dtype=np.float32)
    mixed = [mats[0], mats[1].astype(np.float64)]
    assert co.execute(co.plan([3, 4, 5]), mixed).dtype == np.float64
    ints = [np.arange(12).reshape(4, 3), np.arange(20).reshape(5, 4)]
    got = co.execute(co.plan([3, 4, 5], "bwd"), ints)
    assert got.dtype == np.float64 and np.array_equal(got, ints[1] @ ints[0])  # exact: small ints


def test_one_factor_returns_a_copy():
    a = np.ones((3, 2))
    got = co.execute(co.plan([2, 3], "fwd"), [a])
    assert np.array_equal(got, a) and got is not a
    assert np.array_equal(co.multi_dot(layers=[a]), a)


def test_inputs_are_not_modified_and_lists_are_accepted():
    mats = co.random_jacobians([4, 3, 5, 2], seed=2)
    before = [a.copy() for a in mats]
    co.execute(co.plan([4, 3, 5, 2]), [a.tolist() for a in mats])
    co.execute(co.plan([4, 3, 5, 2]), mats)
    assert all(np.array_equal(a, b) for a, b in zip(mats, before))


def test_intermediates_are_freed_once_consumed():
    """A step's operands die as soon as it has run: track them with weakrefs."""
    import weakref

    ex = importlib.import_module("chainopt.execution.executor")

    dims = [6, 5, 4, 3, 2, 7]
    p = co.plan(dims, "fwd")
    mats = co.random_jacobians(dims, seed=0)
    refs = []
    original = np.ndarray.__matmul__

    class Tracked(np.ndarray):
        def __matmul__(self, other):
            out = original(self, other).view(Tracked)
            refs.append(weakref.ref(out))
            alive = sum(r() is not None for r in refs)
            assert alive <= 2  # this step's result and at most its one intermediate operand
            return out

    ex._run(p, [a.view(Tracked) for a in mats])
    assert len(refs) == len(p.splits)


# -- error paths --------------------------------------------------------------------


def good(dims=(2, 3, 4)):
    return co.random_jacobians(list(dims), seed=0)


@pytest.mark.parametrize(
    "mats, message",
    [
        (good()[:1], "got 1 Jacobian but the chain 2 -> 3 -> 4 has 2 factors"),
        (good() + [np.ones((1, 4))], "got 3 Jacobians but the chain 2 -> 3 -> 4 has 2 factors"),
        ([np.ones((3, 2)), np.ones((4, 5))], r"A_2 has shape \(4, 5\) but the chain 2 -> 3 -> 4 needs \(4, 3\)"),
        ([np.ones((2, 3)), np.ones((4, 3))], r"A_1 has shape \(2, 3\) but the chain 2 -> 3 -> 4 needs \(3, 2\)"),
        ([np.ones(6), np.ones((4, 3))], r"A_1 is a 1-D array of shape \(6,\); Jacobians must be 2-D"),
        ([np.ones((3, 2)), np.ones((4, 3, 1))], r"A_2 is a 3-D array of shape \(4, 3, 1\)"),
        ([np.ones((3, 2), dtype=object), np.ones((4, 3))], "A_1 has dtype object"),
        ([np.full((3, 2), "a"), np.ones((4, 3))], "A_1 has dtype <U1"),
        ([np.ones((3, 2)), np.ones((4, 3), dtype=bool)], "A_2 has dtype bool"),
        (np.ones((2, 3, 3)), r"got one array of shape \(2, 3, 3\)"),
    ],
)
def test_bad_inputs_raise_shape_errors_naming_the_factor(mats, message):
    with pytest.raises(ShapeError, match=message):
        co.execute(co.plan([2, 3, 4]), mats)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_are_refused_by_default_and_propagate_on_request(bad):
    mats = good()
    mats[1] = mats[1].copy()
    mats[1][2, 1] = bad
    with pytest.raises(NonFiniteError, match=r"A_2 has 1 non-finite entry, the first .* at \(2, 1\)"):
        co.execute(co.plan([2, 3, 4]), mats)
    out = co.execute(co.plan([2, 3, 4]), mats, check_finite=False)
    assert not np.isfinite(out[2]).all() and np.isfinite(np.delete(out, 2, axis=0)).all()


def test_huge_finite_entries_are_not_mistaken_for_infinities():
    big = np.full((3, 2), 1e308)  # their sum overflows, the entries are finite
    out = co.execute(co.plan([2, 3, 4]), [big, np.zeros((4, 3))])
    assert np.array_equal(out, np.zeros((4, 2)))


def test_shapes_are_validated_before_any_product(monkeypatch):
    ex = importlib.import_module("chainopt.execution.executor")

    monkeypatch.setattr(ex, "_run", lambda *a: pytest.fail("multiplied before validating"))
    mats = good()
    mats[1] = np.ones((4, 2))
    with pytest.raises(ShapeError):
        co.execute(co.plan([2, 3, 4]), mats)


@pytest.mark.parametrize("strategy", ["fwd", "bwd", "optimal"])
@pytest.mark.parametrize("k", [0, 1, 2])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_factor_is_named_though_only_the_result_is_checked(strategy, k, bad):
    mats = co.random_jacobians([3, 4, 5, 2], seed=k)
    for m in mats:
        m[:, 1] = 0.0  # zeros everywhere: 0 * inf must still reach the result
    mats[k][-1, -1] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning on the way
        with pytest.raises(NonFiniteError, match=f"A_{k + 1} has 1 non-finite entry"):
            co.multiply(mats, strategy)


def test_execute_needs_a_plan():
    with pytest.raises(co.ChainoptError, match="execute needs a Plan.*chainopt.multiply"):
        co.execute("optimal", good())


def test_multiply_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(UnknownStrategyError, match="choose one of: fwd, bwd, optimal, brute, multi_dot"):
        multiply(good(), "fastest")


# -- memory -----------------------------------------------------------------------


def test_memory_estimate_counts_inputs_and_the_largest_peak():
    dims = [100, 1000, 10, 1000, 100]
    est = memory_estimate(dims, dtype=np.float32, strategies=["fwd", "optimal"])
    # by hand: the inputs are 100*1000 + 1000*10 + 10*1000 + 1000*100 = 220,000 entries; fwd holds
    # A2A1 (10x100) while forming A3A2A1 (1000x100), then that while forming the 100x100 result:
    # 100,000 + 10,000 = 110,000 entries, more than the optimum's 1,000 + 1,000 + 10,000 = 12,000
    assert est.inputs == 4 * 220_000
    assert est.intermediates == 4 * 110_000
    assert memory_estimate(dims, inputs=False).inputs == 0
    # multi_dot's bound: every intermediate of the optimal tree at once, 1,000 + 1,000 + 10,000 float64 entries
    assert memory_estimate(dims, strategies=["multi_dot"]).intermediates == 8 * 12_000


def test_a_tiny_budget_refuses_before_allocating(monkeypatch):
    monkeypatch.setattr(np.random, "default_rng", lambda *a, **k: pytest.fail("allocated"))
    message = (
        r"would need 2,400 bytes \(2.3 KiB: 1,600 for the inputs \+ 800 for intermediates\) "
        r"but the budget allows 100 bytes"
    )
    with pytest.raises(MemoryBudgetError, match=message):
        co.random_jacobians([10, 10, 10], budget=100)


def test_execute_refuses_intermediates_over_the_budget():
    mats = good((20, 30, 40))
    with pytest.raises(MemoryBudgetError, match="executing A2 A1 would need 6,400 bytes"):
        co.execute(co.plan([20, 30, 40]), mats, budget=1000)


def test_default_budget_is_a_fraction_of_available_memory(monkeypatch):
    monkeypatch.setattr(budget_module, "available_memory", lambda: (4 * BUDGET_FLOOR, "test"))
    check_memory(MemoryEstimate(0, 2 * BUDGET_FLOOR, 8))  # exactly half: allowed
    with pytest.raises(MemoryBudgetError, match=r"0.5 of the 256.0 MiB available per test\)"):
        check_memory(MemoryEstimate(0, 2 * BUDGET_FLOOR + 1, 8))
    # below the floor the available memory is not even read
    monkeypatch.setattr(budget_module, "available_memory", lambda: pytest.fail("read /proc/meminfo"))
    check_memory(MemoryEstimate(0, BUDGET_FLOOR, 8))


def test_available_memory_falls_back_without_proc(monkeypatch):
    import builtins

    real_open = builtins.open

    def no_proc(path, *a, **k):
        if str(path).startswith("/proc"):
            raise OSError("no /proc here")
        return real_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", no_proc)
    nbytes, source = available_memory()
    assert nbytes > 0 and "meminfo" not in source


def test_random_jacobians_are_seeded_and_scaled():
    a = co.random_jacobians([50, 40, 30], seed=3)
    b = co.random_jacobians([50, 40, 30], seed=3)
    c = co.random_jacobians([50, 40, 30], seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert 0.5 < a[0].var() * 50 < 1.5  # variance 1 / n_k
    with pytest.raises(co.ChainoptError, match="int64 is not supported"):
        co.random_jacobians([2, 3], dtype=np.int64)


@pytest.mark.parametrize("mats", [None, 5])
def test_a_non_sequence_of_jacobians_is_a_shape_error(mats):
    with pytest.raises(co.ShapeError, match="expected a sequence of 2 Jacobians in layer order, got"):
        co.execute(co.plan([2, 3, 4], "fwd"), mats)


def test_non_finite_message_shows_the_plain_value():
    a = np.ones((3, 2))
    a[1, 1] = np.inf
    with pytest.raises(co.NonFiniteError, match=r"the first inf at \(1, 1\)"):
        co.execute(co.plan([2, 3, 4], "fwd"), [a, np.ones((4, 3))])


def test_integer_jacobians_are_multiplied_without_wrapping():
    small = [np.full((3, 2), 100, dtype=np.int8), np.full((1, 3), 100, dtype=np.int8)]
    assert co.multiply(small, "fwd").tolist() == [[30000.0, 30000.0]]
    big = [np.full((2, 2), 2**40, dtype=np.int64), np.full((2, 2), 2**40, dtype=np.int64)]
    assert co.execute(co.plan([2, 2, 2], "fwd"), big).tolist() == [[2.0**81] * 2] * 2


def test_multiply_accepts_a_generator_and_refuses_a_non_string_strategy():
    mats = [np.full((3, 2), 1.0), np.full((1, 3), 2.0)]
    assert co.multiply((m for m in mats), "bwd").tolist() == [[6.0, 6.0]]
    assert co.multi_dot(layers=(m for m in mats)).tolist() == [[6.0, 6.0]]
    with pytest.raises(UnknownStrategyError, match=r"unknown strategy \['fwd'\]"):
        co.multiply(mats, ["fwd"])


def test_seeds_may_be_seed_sequences():
    a = co.random_jacobians([3, 4], seed=np.random.SeedSequence(5))
    b = co.random_jacobians([3, 4], seed=np.random.SeedSequence(5))
    assert np.array_equal(a[0], b[0])

"""Network.jacobian runs generalized plans on real layers: every strategy against the explicit product."""

import functools

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.errors import ChainoptError
from chainopt.layers import Dense, Elementwise, Network, Residual, mlp, resnet
from chainopt.layers import network as network_module
from chainopt.layers.linear import DenseMap, NetworkFactors

STRATEGIES = ("fwd", "bwd", "optimal", "preaccumulate")


def explicit(net, x):
    """The oracle: every layer's Jacobian formed at the forward pass's points, multiplied in written order."""
    mats = []
    for layer in net.layers:
        mats.append(layer.jacobian(x))
        x = layer(x)
    return functools.reduce(lambda inner, outer: outer @ inner, mats)


def assert_close(J, expected):
    """Equal to 1e-12 relative (to the largest entry)."""
    assert J.shape == expected.shape
    assert np.abs(J - expected).max() <= 1e-12 * max(np.abs(expected).max(), 1e-300)


def mixed(widths, seed):
    """An mlp with a residual block in the middle: Dense, Elementwise and Residual factors."""
    rng = np.random.default_rng(seed)
    net = mlp(widths, activation="tanh", seed=seed)
    middle = widths[1]
    block = Residual(rng.standard_normal((middle + 1, middle)) / middle, "sigmoid")
    return Network([*net.layers[:1], block, *net.layers[1:]])


NETWORKS = {"widths": st.lists(st.integers(1, 9), min_size=2, max_size=6), "seed": st.integers(0, 10_000),
            "memory_limit": st.one_of(st.none(), st.integers(0, 80)), "machines": st.sampled_from([1, 2, None])}


# 10 examples (test_reference_shapes_in_miniature and the resnets below are fixed cases); the twin (-m slow) runs 25
@fewer_examples(10)
@given(**NETWORKS)
def test_every_strategy_equals_the_explicit_product(widths, seed, memory_limit, machines):
    net = mixed(widths, seed)
    x = np.random.default_rng(seed).standard_normal(widths[0])
    expected = explicit(net, x)
    for strategy in STRATEGIES:
        limit = None if strategy == "bwd" else memory_limit  # the global adjoint sweep needs every tape
        assert_close(net.jacobian(x, strategy, memory_limit=limit), expected)
    assert_close(net.jacobian(x, memory_limit=memory_limit, machines=machines), expected)


test_every_strategy_equals_the_explicit_product_thorough = slow_twin(
    test_every_strategy_equals_the_explicit_product, **NETWORKS, max_examples=25)


@pytest.mark.parametrize("widths", [(40, 12, 3, 12, 40), (9, 30, 2, 30, 9), (50, 40, 30, 1), (1, 20, 35, 50)])
def test_reference_shapes_in_miniature(widths):
    net = mlp(widths, seed=3)
    x = np.random.default_rng(1).standard_normal(widths[0])
    expected = explicit(net, x)
    for strategy in STRATEGIES:
        assert_close(net.jacobian(x, strategy), expected)
    assert_close(net.jacobian(x, memory_limit=widths[1]), expected)


def test_resnets_by_every_strategy():
    net = resnet(7, 4, seed=2, hidden=5)
    x = np.random.default_rng(2).standard_normal(7)
    for strategy in STRATEGIES:
        assert_close(net.jacobian(x, strategy), explicit(net, x))


def test_fwd_is_the_global_tangent_sweep_and_bwd_the_adjoint_sweep():
    net = mlp([5, 4, 3, 2], seed=0)
    assert str(net.plan("fwd")) == "A5 (F4 (A3 (F2 A1)))"  # dense layers are given (W): products with them
    assert str(net.plan("bwd")) == "(((A5 F4) A3) F2) A1"
    assert net.plan("fwd").cost == co.plan(net.factors(), "fwd").cost


def test_dask_schedulers_give_the_same_jacobian():
    pytest.importorskip("dask")
    net = mixed([12, 8, 3, 8, 12], seed=5)
    x = np.random.default_rng(5).standard_normal(12)
    expected = explicit(net, x)
    for scheduler in ("sync", "threads"):
        assert_close(net.jacobian(x, machines=2, scheduler=scheduler), expected)
    assert_close(net.jacobian(x, "bwd", scheduler="threads"), expected)


@pytest.mark.slow
def test_the_processes_scheduler_ships_the_provider():
    pytest.importorskip("dask")
    net = mlp([12, 8, 3, 8, 12], activation="relu", seed=5)  # relu's table entry is a lambda: maps hold arrays only
    x = np.random.default_rng(5).standard_normal(12)
    assert_close(net.jacobian(x, machines=2, scheduler="processes"), explicit(net, x))


def test_plans_are_cached_per_sizes_and_options(monkeypatch):
    net = mlp([6, 5, 4], seed=0)
    calls = []
    real = network_module.plan_for
    monkeypatch.setattr(network_module, "plan_for", lambda *a, **k: calls.append(a[1:]) or real(*a, **k))
    x = np.ones(6)
    for _ in range(3):
        net.jacobian(x)
        net.jacobian(x, "bwd")
        net.jacobian(x, memory_limit=10)
    assert calls == [("optimal",), ("bwd",), ("optimal",)]
    assert net.plan() is net.plan("optimal", memory_limit=None, machines=1)


def test_a_dense_layer_takes_the_whole_block_in_one_call(monkeypatch):
    net = mlp([30, 20, 10, 1], seed=0)
    shapes = []
    real_tangent, real_adjoint = DenseMap.tangent, DenseMap.adjoint
    monkeypatch.setattr(DenseMap, "tangent", lambda self, V: shapes.append(("T", V.shape)) or real_tangent(self, V))
    monkeypatch.setattr(DenseMap, "adjoint", lambda self, U: shapes.append(("A", U.shape)) or real_adjoint(self, U))
    x = np.ones(30)
    net.jacobian(x, "fwd")  # the dense layers are given: the sweep multiplies by W, no tangent of W
    assert shapes == []
    provider = net.linearize(x)
    block = np.ones((20, 30))
    np.testing.assert_allclose(provider.tangent(2, block), net.layers[2].W @ block)
    assert shapes == [("T", (20, 30))]


def test_linearize_keeps_the_output_and_pickles():
    import pickle

    net = mlp([4, 3, 2], activation="relu", seed=1)
    x = np.linspace(-1, 1, 4)
    provider = net.linearize(x)
    np.testing.assert_allclose(provider.output, net(x), rtol=1e-15)
    copy = pickle.loads(pickle.dumps(provider))
    assert isinstance(copy, NetworkFactors)
    np.testing.assert_array_equal(copy.jacobian(1), provider.jacobian(1))
    np.testing.assert_array_equal(provider.jacobian(1), np.diag(net.layers[1].jacobian(net.layers[0](x))))


def test_float32_networks_run_in_float32():
    net = mlp([5, 4, 3], seed=0, dtype=np.float32)
    J = net.jacobian(np.ones(5, dtype=np.float32))
    assert J.dtype == np.float32


def test_formed_jacobian_strategies_and_bad_options():
    net = Network([Dense(np.ones((3, 2))), Elementwise(3, "tanh"), Dense(np.ones((1, 3)))])
    x = np.array([0.5, -0.5])
    assert_close(net.jacobian(x, "multi_dot"), explicit(net, x))
    assert_close(net.jacobian(x, "hu_shing"), explicit(net, x))
    with pytest.raises(ChainoptError, match="'hu_shing' multiplies formed Jacobians and takes no memory_limit"):
        net.jacobian(x, "hu_shing", memory_limit=3)
    with pytest.raises(ChainoptError, match="'brute' plans formed Jacobians"):
        net.plan("brute")
    with pytest.raises(ChainoptError, match="strategy 'fwd' takes no option 'machines'"):
        net.jacobian(x, "fwd", machines=2)
    with pytest.raises(co.UnknownStrategyError, match="choose one of"):
        net.plan("sideways")
    with pytest.raises(ChainoptError, match="the adjoint sweep needs F_2's tape of 3 entries"):
        net.jacobian(x, "bwd", memory_limit=2)


PROGRAMS = {"widths": st.lists(st.integers(1, 8), min_size=2, max_size=6), "seed": st.integers(0, 10_000),
            "memory_limit": st.one_of(st.none(), st.integers(0, 60))}


# 10 examples; the _thorough twin (-m slow) runs 25
@fewer_examples(10)
@given(**PROGRAMS)
def test_the_compiled_program_agrees_with_run_plan(widths, seed, memory_limit):
    from chainopt.execution import run_plan

    net = mixed(widths, seed)
    x = np.random.default_rng(seed).standard_normal(widths[0])
    provider = net.linearize(x)
    for strategy in ("fwd", "optimal", "preaccumulate"):
        plan = net.plan(strategy, memory_limit=memory_limit)
        J = net.jacobian(x, strategy, memory_limit=memory_limit)
        np.testing.assert_allclose(J, run_plan(plan, provider), rtol=1e-14, atol=1e-300)
        assert J.flags.writeable


test_the_compiled_program_agrees_with_run_plan_thorough = slow_twin(
    test_the_compiled_program_agrees_with_run_plan, **PROGRAMS, max_examples=25)


def test_a_single_layer_network_returns_a_copy():
    W = np.arange(6.0).reshape(2, 3)
    net = Network([Dense(W)])
    J = net.jacobian(np.ones(3))
    np.testing.assert_array_equal(J, W)
    J[0, 0] = 99.0
    np.testing.assert_array_equal(net.layers[0].W, W)
    np.testing.assert_array_equal(Network([Elementwise(2, "identity")]).jacobian(np.ones(2)), np.eye(2))

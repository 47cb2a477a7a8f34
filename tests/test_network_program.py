"""The compiled network program: the forward pass interleaved with the plan, dead layers never evaluated."""

import numpy as np

from chainopt.layers import Dense, Elementwise, Network, mlp


def _lines(net, strategy):
    return [line.strip() for line in net._compiled(strategy, None, 1)[1].source.splitlines()]


def test_a_forward_plan_reads_each_weight_for_the_value_and_the_tangent_back_to_back():
    net = mlp([1, 20, 40, 60, 80], activation="tanh", seed=0)
    lines = _lines(net, "fwd")
    for k in (2, 4):  # the hidden dense layers: their value, then the tangent block through the same weight
        value = lines.index(f"x = W{k} @ x + b{k}")
        assert lines[value + 1].startswith("t") and f"= W{k} @ t" in lines[value + 1]
    x = np.random.default_rng(1).uniform(-1, 1, 1)
    A = net.jacobians(x)
    np.testing.assert_allclose(net.jacobian(x, "fwd"), A[6] @ A[5] @ A[4] @ A[3] @ A[2] @ A[1] @ A[0], rtol=1e-12)


def test_the_dense_layers_after_the_last_nonlinear_one_are_never_evaluated():
    net = mlp([5, 4, 3, 2], activation="tanh", seed=0)  # ends Dense(3 -> 2) after the last tanh
    for strategy in ("fwd", "bwd", "optimal", "preaccumulate"):
        lines = _lines(net, strategy)
        assert not any(line.startswith("x = W4 @ x") for line in lines), strategy
        assert any(line.startswith("x = W2 @ x") for line in lines), strategy


def test_a_linear_network_runs_no_forward_pass_and_ignores_the_point():
    rng = np.random.default_rng(2)
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    net = Network([Dense(W1, rng.standard_normal(3)), Dense(W2)])
    assert not any(line.startswith("x =") for line in _lines(net, "optimal"))
    for x in (np.zeros(4), np.full(4, 1e300)):
        np.testing.assert_allclose(net.jacobian(x), W2 @ W1, rtol=1e-14)


def test_an_elementwise_last_layer_is_evaluated_for_its_derivative():
    net = Network([Dense(np.eye(2) * 2.0), Elementwise(2, "tanh")])
    x = np.array([0.25, -1.0])
    np.testing.assert_allclose(net.jacobian(x), np.diag(1 - np.tanh(2 * x) ** 2) * 2.0, rtol=1e-14)


def test_strategy_names_are_case_insensitive_and_an_unknown_one_lists_both_kinds():
    import pytest

    from chainopt.errors import UnknownStrategyError

    net = mlp([3, 4, 2], seed=0)
    x = np.linspace(-1, 1, 3)
    A = net.jacobians(x)
    expected = A[2] @ A[1] @ A[0]
    for strategy in ("FWD", "Bwd", "OPTIMAL", "multi_dot", "Multi_Dot", "brute"):
        np.testing.assert_allclose(net.jacobian(x, strategy), expected, rtol=1e-13)
    assert str(net.plan("BWD")) == str(net.plan("bwd"))
    for bad in ("sideways", 3, ["fwd"]):
        with pytest.raises(UnknownStrategyError, match=r"fwd, bwd, optimal, preaccumulate \(on the network's "
                                                       r"layers\), or brute, hu_shing, multi_dot"):
            net.jacobian(x, bad)

"""Real layers against central finite differences, and jvp/vjp against explicit Jacobians."""

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.errors import ChainoptError, DimensionError, NonFiniteError, ShapeError
from chainopt.layers import ACTIVATIONS, Dense, Elementwise, Network, Residual, get_activation, mlp, resnet

SMOOTH = ["tanh", "sigmoid", "softplus", "identity"]


def central_differences(f, x, h=1e-6):
    """The Jacobian of f at x, column by column, by central differences."""
    cols = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))]
    return np.stack(cols, axis=1)


def point(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_derivatives_match_finite_differences(name):
    act = ACTIVATIONS[name]
    x = np.linspace(-3, 3, 13) + 0.01  # away from relu's kink at 0
    fd = (act.f(x + 1e-6) - act.f(x - 1e-6)) / 2e-6
    np.testing.assert_allclose(act.df(x), fd, rtol=1e-6, atol=1e-8)


def test_activations_are_stable_far_out():
    x = np.array([-800.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        for act in ACTIVATIONS.values():
            assert np.isfinite(act.f(x)).all() and np.isfinite(act.df(x)).all()
    np.testing.assert_allclose(ACTIVATIONS["softplus"].f(x), [0.0, 800.0])


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ChainoptError, match="unknown activation 'gelu'; choose one of: tanh, sigmoid, relu"):
        get_activation("gelu")
    with pytest.raises(ChainoptError, match="unknown activation"):
        mlp([2, 3, 4], activation="gelu")


LAYERS = {
    "dense": lambda rng: Dense(rng.standard_normal((4, 6)), rng.standard_normal(4)),
    **{f"elementwise-{a}": (lambda rng, a=a: Elementwise(5, a)) for a in SMOOTH},
    **{f"residual-{a}": (lambda rng, a=a: Residual(rng.standard_normal((3, 5)) / 2, a)) for a in SMOOTH},
}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_layer_jacobian_jvp_vjp(kind):
    rng = np.random.default_rng(1)
    layer = LAYERS[kind](rng)
    x = rng.standard_normal(layer.n_in)
    J = layer.jacobian(x)
    assert J.shape == (layer.n_out, layer.n_in)
    np.testing.assert_allclose(J, central_differences(layer, x), rtol=1e-6, atol=1e-8)
    v = rng.standard_normal(layer.n_in)
    u = rng.standard_normal(layer.n_out)
    np.testing.assert_allclose(layer.jvp(x, v), J @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.vjp(x, u), J.T @ u, rtol=1e-12, atol=1e-12)
    V = rng.standard_normal((layer.n_in, 3))  # several tangents as columns
    np.testing.assert_allclose(layer.jvp(x, V), J @ V, rtol=1e-12, atol=1e-12)


def test_relu_layer_away_from_the_kink():
    layer = Elementwise(4, "relu")
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_array_equal(layer.jacobian(x), np.diag([0.0, 0.0, 1.0, 1.0]))
    np.testing.assert_allclose(layer.jacobian(x), central_differences(layer, x), atol=1e-9)


MLPS = {"widths": st.lists(st.integers(1, 7), min_size=2, max_size=5), "activation": st.sampled_from(SMOOTH),
        "seed": st.integers(0, 1000)}


# 12 examples; the _thorough twin (-m slow) runs 30
@fewer_examples(12)
@given(**MLPS)
def test_mlp_jacobian_matches_finite_differences_and_every_strategy(widths, activation, seed):
    net = mlp(widths, activation=activation, seed=seed)
    x = point(widths[0], seed)
    mats = net.jacobians(x)
    assert [a.shape for a in mats] == [net.chain.factor_shape(k) for k in range(1, len(mats) + 1)]
    J = net.jacobian(x)
    np.testing.assert_allclose(J, central_differences(net, x), rtol=1e-5, atol=1e-7)
    for strategy in [*co.STRATEGIES, "multi_dot"]:
        np.testing.assert_allclose(net.jacobian(x, strategy=strategy), J, rtol=1e-12, atol=1e-13)


test_mlp_jacobian_matches_finite_differences_and_every_strategy_thorough = slow_twin(
    test_mlp_jacobian_matches_finite_differences_and_every_strategy, **MLPS, max_examples=30)


RESNETS = {"width": st.integers(1, 6), "depth": st.integers(1, 4), "seed": st.integers(0, 1000),
           "activation": st.sampled_from(SMOOTH)}


# 12 examples; the _thorough twin (-m slow) runs 30
@fewer_examples(12)
@given(**RESNETS)
def test_resnet_jvp_vjp_and_the_adjoint_identity(width, depth, seed, activation):
    net = resnet(width, depth, seed=seed, activation=activation)
    rng = np.random.default_rng(seed)
    x, v, u = rng.standard_normal(width), rng.standard_normal(width), rng.standard_normal(width)
    J = net.jacobian(x, strategy="bwd")
    np.testing.assert_allclose(J, central_differences(net, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.jvp(x, v), J @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.vjp(x, u), J.T @ u, rtol=1e-10, atol=1e-12)
    # <u, J v> = <J^T u, v>, with no explicit Jacobian at all
    assert np.isclose(u @ net.jvp(x, v), net.vjp(x, u) @ v, rtol=1e-10, atol=1e-12)


test_resnet_jvp_vjp_and_the_adjoint_identity_thorough = slow_twin(
    test_resnet_jvp_vjp_and_the_adjoint_identity, **RESNETS, max_examples=30)


def test_mlp_adjoint_identity_and_matrix_directions():
    net = mlp([6, 5, 4, 3], activation="sigmoid", seed=7)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(6)
    V, U = rng.standard_normal((6, 2)), rng.standard_normal((3, 4))
    J = net.jacobian(x)
    np.testing.assert_allclose(net.jvp(x, V), J @ V, rtol=1e-12)
    np.testing.assert_allclose(net.vjp(x, U), J.T @ U, rtol=1e-12)
    np.testing.assert_allclose(U.T @ net.jvp(x, V), (net.vjp(x, U)).T @ V, rtol=1e-10)


def test_mlp_shape_and_seeding():
    net = mlp([784, 512, 256, 10], activation="tanh", seed=0)
    assert net.dims == (784, 512, 512, 256, 256, 10)
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "Elementwise", "Dense", "Elementwise", "Dense"]
    same, other = mlp([784, 512, 256, 10], seed=0), mlp([784, 512, 256, 10], seed=1)
    assert np.array_equal(net.layers[0].W, same.layers[0].W)
    assert not np.array_equal(net.layers[0].W, other.layers[0].W)
    x = point(784)
    mats = net.jacobians(x)
    assert np.count_nonzero(mats[1] - np.diag(np.diag(mats[1]))) == 0  # a diagonal factor
    assert net.jacobian(x).shape == (10, 784)


def test_float32_networks_give_float32_jacobians():
    net = mlp([5, 4, 3], seed=0, dtype=np.float32)
    mats = net.jacobians(point(5).astype(np.float32))
    assert {a.dtype for a in mats} == {np.dtype(np.float32)}
    with pytest.raises(ChainoptError, match="float16 is not supported"):
        mlp([5, 4], dtype=np.float16)


def test_parameters_are_read_only():
    net = mlp([3, 2], seed=0)
    with pytest.raises(ValueError):
        net.layers[0].W[0, 0] = 1.0
    np.testing.assert_array_equal(net.jacobians(point(3))[0], net.layers[0].W)


def test_errors_name_the_bad_value():
    net = mlp([3, 4, 2], seed=0)
    message = r"x has float64 shape \(4,\) but the network needs a real vector of shape \(3,\)"
    with pytest.raises(ShapeError, match=message):
        net(np.ones(4))
    with pytest.raises(ShapeError, match=r"x has .* shape \(3, 1\)"):
        net.jacobians(np.ones((3, 1)))
    with pytest.raises(NonFiniteError, match=r"x has non-finite entries at \[1\]"):
        net.jacobian(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ShapeError, match=r"v has float64 shape \(2,\) but needs shape \(3,\) or \(3, k\)"):
        net.jvp(np.ones(3), np.ones(2))
    with pytest.raises(ShapeError, match=r"u has"):
        net.vjp(np.ones(3), np.ones(3))
    message = r"layer 2 \(Dense\(5 -> 2\)\) takes 5 inputs but layer 1 \(Dense\(3 -> 4\)\) gives 4"
    with pytest.raises(ShapeError, match=message):
        Network([Dense(np.ones((4, 3))), Dense(np.ones((2, 5)))])
    with pytest.raises(ShapeError, match="at least one layer"):
        Network([])
    with pytest.raises(ShapeError, match=r"b has shape \(2,\) but W of shape \(3, 2\) needs \(3,\)"):
        Dense(np.ones((3, 2)), np.ones(2))
    with pytest.raises(DimensionError, match="width 2 is 0"):
        mlp([3, 0, 2])
    with pytest.raises(DimensionError, match="at least 2 widths"):
        mlp([3])
    with pytest.raises(DimensionError, match="depth is 0"):
        resnet(4, 0)
    with pytest.raises(co.UnknownStrategyError, match="choose one of"):
        net.jacobian(np.ones(3), strategy="sideways")


def test_an_integer_point_is_evaluated_as_real_numbers():
    net = co.layers.mlp([2, 3, 2], activation="softplus", seed=0)
    np.testing.assert_array_equal(net(np.array([1, 2])), net(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(net.jacobian(np.array([1, 2])), net.jacobian(np.array([1.0, 2.0])))


def test_the_graph_and_the_layers_share_one_table_of_elementwise_functions():
    """``tanh`` in a layer and ``tanh`` on a graph node are the same entry, so the same code."""
    from chainopt import autodiff as ad

    assert set(ad.ELEMENTWISE) | {"identity"} == set(co.layers.ELEMENTWISE)
    assert all(ad.ELEMENTWISE[name] is co.layers.ELEMENTWISE[name] for name in ad.ELEMENTWISE)
    assert all(co.layers.ACTIVATIONS[name] is co.layers.ELEMENTWISE[name] for name in co.layers.ACTIVATIONS)
    x = np.array([0.3, -1.2, 2.5])
    for name in ACTIVATIONS:
        if name in ad.ELEMENTWISE:
            J = ad.jacobian(getattr(ad, name), x, mode="fwd").matrix
            np.testing.assert_array_equal(J, Elementwise(3, name).jacobian(x))


@pytest.mark.parametrize(
    "name, x, value, derivative",
    [  # closed forms far out, where y (1 - y) or 1 - y**2 would cancel to 0
        ("sigmoid", 40.0, 1.0, np.exp(-40.0)),
        ("sigmoid", -40.0, np.exp(-40.0), np.exp(-40.0)),
        ("tanh", 20.0, 1.0, 4 * np.exp(-40.0)),
        ("softplus", -40.0, np.exp(-40.0), np.exp(-40.0)),
    ],
)
def test_activations_keep_relative_precision_far_out(name, x, value, derivative):
    act = ACTIVATIONS[name]
    np.testing.assert_allclose(act.f(np.array([x])), [value], rtol=1e-12)
    np.testing.assert_allclose(act.df(np.array([x])), [derivative], rtol=1e-12)


def test_the_tanh_derivative_is_within_a_few_ulp_everywhere_and_never_warns():
    x = np.concatenate([np.linspace(-40, 40, 8001), np.geomspace(1e-9, 700, 500), -np.geomspace(1e-9, 700, 500)])
    e = np.exp(-2 * np.abs(x.astype(np.longdouble)))  # the reference in 80-bit: 4 e / (1 + e)^2, no cancellation
    exact = 4 * e / (1 + e) ** 2
    derivative = ACTIVATIONS["tanh"].derivative
    with np.errstate(all="raise", under="ignore"):
        d = derivative(x, np.tanh(x))
        far = derivative(np.array([360.0, 709.0, 710.0, 1e300, -np.inf, np.inf]), None)
        narrow = derivative(np.array([0.0, 20.0, 100.0, -1e30], dtype=np.float32), None)
    normal = exact > np.finfo(np.float64).tiny
    relative = np.abs(d[normal] - exact[normal]) / exact[normal]
    assert relative.max() < 4 * np.finfo(np.float64).eps
    np.testing.assert_array_equal(far[1:], 0.0)  # exactly what 4 exp(-2|x|) rounds to
    assert 0 < far[0] < 1e-300  # 4 exp(-720), subnormal
    assert narrow.dtype == np.float32
    np.testing.assert_allclose(narrow, [1.0, 4 * np.exp(-40.0), 0.0, 0.0], rtol=1e-6)


def test_factors_report_each_layers_own_costs():
    net = mlp([5, 4, 3], seed=0)
    factors = net.factors()
    assert [(f.n_in, f.n_out) for f in factors] == [net.chain.factor_shape(k)[::-1] for k in (1, 2, 3)]
    assert [(f.tangent, f.adjoint, f.tape, f.diagonal, f.given) for f in factors] == [
        (20, 20, 20, False, True),  # W is 4 x 5, and W is the Jacobian: given
        (4, 4, 4, True, False),  # p'(x), one per entry
        (12, 12, 12, False, True),
    ]
    block = Residual(np.ones((2, 6)))  # A x: 12, p': 2, A^T: 12, identity: 6
    f = block.factor()
    assert (f.n_in, f.n_out, f.tangent, f.adjoint, f.tape, f.diagonal) == (6, 6, 32, 32, 26, False)
    assert resnet(6, 3).factors() == (Residual(np.ones((6, 6))).factor(),) * 3


def test_from_weights_builds_the_network_of_given_arrays():
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    bs = [rng.standard_normal(4), rng.standard_normal(2)]
    x = rng.standard_normal(3)
    plain = co.layers.from_weights(Ws, bs, "tanh")
    np.testing.assert_allclose(plain(x), Ws[1] @ np.tanh(Ws[0] @ x + bs[0]) + bs[1], rtol=1e-14)
    ending = co.layers.from_weights(Ws, bs, "tanh", final_activation=True)
    np.testing.assert_allclose(ending(x), np.tanh(Ws[1] @ np.tanh(Ws[0] @ x + bs[0]) + bs[1]), rtol=1e-14)
    assert ending.dims == (3, 4, 4, 2, 2)
    np.testing.assert_array_equal(co.layers.from_weights(Ws)(np.zeros(3)), np.zeros(2))  # no biases: zeros
    with pytest.raises(ShapeError, match=r"weights\[1\] has shape \(2, 5\), taking 5 inputs, but weights\[0\] gives 4"):
        co.layers.from_weights([Ws[0], np.ones((2, 5))])
    with pytest.raises(ShapeError, match=r"weights\[0\]: b has shape \(3,\)"):
        co.layers.from_weights([Ws[0]], [np.ones(3)])
    with pytest.raises(ShapeError, match="2 weight matrices but 1 biases"):
        co.layers.from_weights(Ws, bs[:1])


def test_autodiff_jacobian_chooses_its_mode_from_the_shapes():
    A = np.arange(12.0).reshape(4, 3)
    tall = co.autodiff.jacobian(lambda x: A @ x, np.ones(3))
    wide = co.autodiff.jacobian(lambda x: A.T @ x, np.ones(4))
    assert (tall.mode, tall.sweeps, wide.mode, wide.sweeps) == ("fwd", 3, "bwd", 3)
    np.testing.assert_array_equal(tall.matrix, A)
    assert co.autodiff.jacobian(lambda x: A @ x, np.ones(3), mode="bwd").sweeps == 4  # explicit mode honoured

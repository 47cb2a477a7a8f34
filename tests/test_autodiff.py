"""Tangent and adjoint sweeps against closed forms, central finite differences and each other.

Oracles: the notes' formulas (as corrected in shared/seed/README.md), central
finite differences, and the adjoint identity <u, J v> = <J^T u, v>.
"""

import math

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given, settings
from hypothesis import strategies as st

import chainopt as co
from chainopt import autodiff as ad
from chainopt.errors import ChainoptError, ShapeError

ACTIVATIONS = {
    # name: (p, p') written out by hand, independent of chainopt.autodiff.graph
    "tanh": (np.tanh, lambda s: 1 / np.cosh(s) ** 2),
    "sigmoid": (lambda s: 1 / (1 + np.exp(-s)), lambda s: np.exp(-s) / (1 + np.exp(-s)) ** 2),
    "sin": (np.sin, np.cos),
    "softplus": (lambda s: np.log1p(np.exp(s)), lambda s: 1 / (1 + np.exp(-s))),
    "exp": (np.exp, np.exp),
}


def central_difference(f, x, h=1e-6):
    """The gradient (or Jacobian, output-shaped rows) of f at x by central differences."""
    x = np.asarray(x, dtype=float)
    out = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        out.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(out, axis=-1).reshape(np.shape(f(x)) + x.shape)


# -- the notes' first example: p(x) = log x + sqrt(log x) -----------------------------


def notes1(x):
    y = ad.log(x)
    z = ad.sqrt(y)
    return y + z


def notes1_derivative(x):
    return (1 / x) * (1 + 1 / (2 * math.sqrt(math.log(x))))


@pytest.mark.parametrize("x0", [1.2, 2.0, 3.0, 10.0, 100.0])
def test_notes1_both_sweeps_match_closed_form_and_finite_differences(x0):
    x = ad.variable(x0)
    p = notes1(x)
    forward = ad.tangent_sweep([p], {x: 1.0})[p]
    reverse = ad.adjoint_sweep([p], {p: 1.0})[x]
    plain = lambda v: math.log(v) + math.sqrt(math.log(v))  # noqa: E731
    assert p.value == pytest.approx(plain(x0), rel=1e-14)
    assert forward == pytest.approx(notes1_derivative(x0), rel=1e-13)
    assert reverse == pytest.approx(notes1_derivative(x0), rel=1e-13)
    assert forward == pytest.approx(central_difference(plain, x0), rel=1e-7)


def test_notes1_golden_value_at_2():
    assert ad.grad(notes1)(2.0) == pytest.approx(0.80028060, abs=5e-9)


def test_notes1_intermediate_tangents_and_adjoints_follow_the_notes_lines():
    # FWD: dy/dx = 1/x, dz/dx = 1/(2 sqrt(y)) dy/dx.  BWD: df/dz = 1, df/dy = df/dz/(2 sqrt(y)) + 1.
    x = ad.variable(2.0)
    y = ad.log(x)
    z = ad.sqrt(y)
    p = y + z
    t = ad.tangent_sweep([p], {x: 1.0})
    a = ad.adjoint_sweep([p], {p: 1.0})
    assert t[y] == pytest.approx(0.5) and t[z] == pytest.approx(0.5 / (2 * math.sqrt(math.log(2))))
    assert a[z] == 1.0 and a[y] == pytest.approx(1 / (2 * math.sqrt(math.log(2))) + 1)
    assert a[x] == pytest.approx(a[y] * 0.5)
    # the notes' Fate and Son of y
    assert x.sons == [(y, 0)] and [s for s, _ in y.sons] == [z, p] and p.fate == (y, z)


# -- the notes' second example ---------------------------------------------------------


def notes2_graph(x):
    """The notes' graph, node by node (with s = n/y, which the notes use but do not draw)."""
    y = x**2
    z = ad.sqrt(y + 1)
    n = ad.log(x + z)
    s = n / y
    t = n**3
    u = t / z
    f = s - u
    return dict(x=x, y=y, z=z, n=n, s=s, t=t, u=u, f=f)


def notes2_closed_form(x):
    r = math.sqrt(x * x + 1)
    a = math.asinh(x)
    value = a / x**2 - a**3 / r  # "-" where the notes' first line has "="
    derivative = 1 / (r * x**2) - 2 * a / x**3 - 3 * a**2 / r**2 + a**3 * x / r**3
    return value, derivative


@pytest.mark.parametrize("x0", [0.3, 1.0, 1.5, 2.0, 4.0, -1.5])
def test_notes2_values_and_derivatives_match_closed_form_and_finite_differences(x0):
    g = notes2_graph(ad.variable(x0))
    f, x = g["f"], g["x"]
    value, derivative = notes2_closed_form(x0)
    forward = ad.tangent_sweep([f], {x: 1.0})[f]
    reverse = ad.adjoint_sweep([f], {f: 1.0})[x]
    assert f.value == pytest.approx(value, rel=1e-12)
    assert forward == pytest.approx(derivative, rel=1e-10)
    assert reverse == pytest.approx(derivative, rel=1e-10)
    fd = central_difference(lambda v: notes2_closed_form(float(v))[0], x0)
    assert reverse == pytest.approx(fd, rel=1e-6)


def test_notes2_golden_values_at_1_5_and_the_first_line_means_minus():
    """Slip: the first line's '=' is a '-': f = asinh(x)/x^2 - asinh(x)^3/sqrt(x^2+1)."""
    g = notes2_graph(ad.variable(1.5))
    assert g["f"].value == pytest.approx(-0.41502182, abs=5e-9)
    assert ad.adjoint_sweep([g["f"]], {g["f"]: 1.0})[g["x"]] == pytest.approx(-1.34250084, abs=5e-9)
    a = math.asinh(1.5)
    assert g["f"].value == pytest.approx(a / 1.5**2 - a**3 / math.sqrt(1.5**2 + 1))
    assert g["f"].value != pytest.approx(a / 1.5**2 + a**3 / math.sqrt(1.5**2 + 1))


def test_notes2_node_s_is_in_the_graph_with_fate_n_y():
    """Slip: s = n/y is used by f but missing from the notes' graph line."""
    g = notes2_graph(ad.variable(1.5))
    assert g["s"].fate == (g["n"], g["y"]) and [m for m, _ in g["s"].sons] == [g["f"]]
    assert g["s"] in ad.topological_order([g["f"]])


def local_partials(build, **point):
    """d node / d argument for one line of the graph, the arguments taken as independent inputs."""
    args = {k: ad.variable(v) for k, v in point.items()}
    out = build(**args)
    sweep = ad.adjoint_sweep([out], {out: 1.0})
    return {k: sweep[a] for k, a in args.items()}


def test_notes2_local_partials_corrected_not_as_written():
    """Slips: dn/dx = dn/dz = 1/(x+z) (not 1/(x+1)); ds/dn = 1/y, ds/dy = -n/y^2; du/dt = 1/z, du/dz = -t/z^2."""
    g = notes2_graph(ad.variable(1.5))
    x, y, z, n, t = (g[k].value for k in "xyznt")
    d = local_partials(lambda x, z: ad.log(x + z), x=x, z=z)
    assert d["x"] == pytest.approx(1 / (x + z)) and d["z"] == pytest.approx(1 / (x + z))
    assert d["x"] != pytest.approx(1 / (x + 1))
    d = local_partials(lambda n, y: n / y, n=n, y=y)
    assert d["n"] == pytest.approx(1 / y) and d["y"] == pytest.approx(-n / y**2)
    assert d["y"] != pytest.approx(1 / y**2)
    d = local_partials(lambda t, z: t / z, t=t, z=z)
    assert d["t"] == pytest.approx(1 / z) and d["z"] == pytest.approx(-t / z**2)
    assert d["z"] != pytest.approx(t / z**2)


def test_notes2_backward_line_for_n_uses_3n2_not_1_over_z2():
    """Slip: in the backward sweep df/dn = df/dt * 3n^2 + df/ds * 1/y (the notes write df/dt * 1/z^2)."""
    g = notes2_graph(ad.variable(1.5))
    a = ad.adjoint_sweep([g["f"]], {g["f"]: 1.0})
    n, y, z = g["n"].value, g["y"].value, g["z"].value
    assert a[g["n"]] == pytest.approx(a[g["t"]] * 3 * n**2 + a[g["s"]] / y, rel=1e-14)
    assert a[g["n"]] != pytest.approx(a[g["t"]] / z**2 + a[g["s"]] / y)


# -- MLP (notes part 4): f(x, A, b) = b^T p(Ax) ----------------------------------------


MLPS = {"p": st.integers(1, 6), "q": st.integers(1, 6), "act": st.sampled_from(sorted(ACTIVATIONS)),
        "seed": st.integers(0, 2**16)}


# 8 examples; the _thorough twin (-m slow) runs 30
@fewer_examples(8)
@given(**MLPS)
def test_mlp_gradients_match_the_closed_forms_and_finite_differences(p, q, act, seed):
    rng = np.random.default_rng(seed)
    x, A, b = rng.standard_normal(p), rng.standard_normal((q, p)) / 2, rng.standard_normal(q)
    func, dfunc = ACTIVATIONS[act]
    f = lambda x, A, b: ad.dot(b, getattr(ad, act)(A @ x))  # noqa: E731
    gx, gA, gb = ad.grad(f, argnums=(0, 1, 2))(x, A, b)
    s = A @ x
    assert np.allclose(gA, np.outer(dfunc(s) * b, x), rtol=1e-12, atol=1e-14)  # [p'(s) (.) b] x^T
    assert np.allclose(gb, func(s), rtol=1e-12)  # p(s)
    assert np.allclose(gx, A.T @ (dfunc(s) * b), rtol=1e-12, atol=1e-14)  # A^T (p'(s) (.) b)
    plain = lambda x, A, b: b @ func(A @ x)  # noqa: E731
    assert np.allclose(gA, central_difference(lambda M: plain(x, M, b), A), rtol=1e-6, atol=1e-8)
    assert np.allclose(gx, central_difference(lambda v: plain(v, A, b), x), rtol=1e-6, atol=1e-8)


test_mlp_gradients_match_the_closed_forms_and_finite_differences_thorough = slow_twin(
    test_mlp_gradients_match_the_closed_forms_and_finite_differences, **MLPS, max_examples=30)


def test_mlp_jacobian_of_the_activation_is_diagonal():
    s0 = np.array([0.3, -1.0, 2.0])
    J = ad.jacobian(ad.tanh, s0, mode="fwd").matrix
    assert np.allclose(J, np.diag(1 - np.tanh(s0) ** 2))


# -- ResNet block (notes part 5): f(x, A) = L(A^T p(Ax) + x) ----------------------------

LOSSES = {
    "half squared norm": (lambda U: 0.5 * ad.sum(U * U), lambda U: U, lambda U: 0.5 * U @ U),
    "sum": (lambda U: ad.sum(U), np.ones_like, np.sum),
}


RESNET_BLOCKS = {"p": st.integers(1, 5), "q": st.integers(1, 5), "act": st.sampled_from(sorted(ACTIVATIONS)),
                 "loss": st.sampled_from(sorted(LOSSES)), "seed": st.integers(0, 2**16)}


# 12 examples; the _thorough twin (-m slow) runs 30
@fewer_examples(12)
@given(**RESNET_BLOCKS)
def test_resnet_gradients_match_the_closed_forms_and_finite_differences(p, q, act, loss, seed):
    """Slip: '(grad_u)^T t' is the outer product T grad_U^T (q x p, the shape of A); p != q often here."""
    rng = np.random.default_rng(seed)
    x, A = rng.standard_normal(p), rng.standard_normal((q, p)) / 2
    func, dfunc = ACTIVATIONS[act]
    L, dL, plain_L = LOSSES[loss]
    f = lambda x, A: L(A.T @ getattr(ad, act)(A @ x) + x)  # noqa: E731
    gx, gA = ad.grad(f, argnums=(0, 1))(x, A)
    S = A @ x
    T = func(S)
    U = A.T @ T + x
    grad_U = dL(U)
    grad_T = A @ grad_U
    grad_S = dfunc(S) * grad_T
    assert np.allclose(gA, np.outer(grad_S, x) + np.outer(T, grad_U), rtol=1e-11, atol=1e-13)
    assert np.allclose(gx, A.T @ grad_S + grad_U, rtol=1e-11, atol=1e-13)
    plain = lambda x, A: plain_L(A.T @ func(A @ x) + x)  # noqa: E731
    assert np.allclose(gA, central_difference(lambda M: plain(x, M), A), rtol=1e-6, atol=1e-7)
    assert np.allclose(gx, central_difference(lambda v: plain(v, A), x), rtol=1e-6, atol=1e-7)


test_resnet_gradients_match_the_closed_forms_and_finite_differences_thorough = slow_twin(
    test_resnet_gradients_match_the_closed_forms_and_finite_differences, **RESNET_BLOCKS, max_examples=30)


def test_resnet_block_jacobian_is_identity_plus_At_diag_A_both_ways():
    rng = np.random.default_rng(3)
    x, A = rng.standard_normal(4), rng.standard_normal((3, 4))
    block = lambda x: A.T @ ad.tanh(A @ x) + x  # noqa: E731
    expected = np.eye(4) + A.T @ np.diag(1 - np.tanh(A @ x) ** 2) @ A
    for mode in ("fwd", "bwd"):
        assert np.allclose(ad.jacobian(block, x, mode=mode).matrix, expected, rtol=1e-12)


# -- forward and reverse agree: the adjoint identity --------------------------------------


def composite(x, W):
    """Exercises every array primitive: matmul, transpose, broadcasting, sum with an axis, division, power."""
    h = ad.sigmoid(W @ x) * 2.0 - ad.exp(-x.sum()) / 3.0
    g = (W.T @ h) ** 2 + ad.sin(x) * ad.cos(x) / (1.5 + ad.tanh(x))
    M = ad.transpose(W) * h  # (p, q) * (q,) broadcast
    return ad.sum(M, axis=1) + g + ad.softplus(x) + ad.asinh(x) - ad.relu(x - 0.1)


COMPOSITES = {"p": st.integers(1, 5), "q": st.integers(1, 5), "seed": st.integers(0, 2**16)}


# 15 examples; the _thorough twin (-m slow) runs 40
@fewer_examples(15)
@given(**COMPOSITES)
def test_adjoint_identity_forward_equals_reverse(p, q, seed):
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal(p), rng.standard_normal((q, p))
    v_x, v_W, u = rng.standard_normal(p), rng.standard_normal((q, p)), rng.standard_normal(p)
    value, Jv = ad.jvp(composite, (x, W), (v_x, v_W))
    value2, (uJ_x, uJ_W) = ad.vjp(composite, (x, W), u)
    assert np.array_equal(value, value2)
    assert u @ Jv == pytest.approx(uJ_x @ v_x + np.sum(uJ_W * v_W), rel=1e-10, abs=1e-12)
    # and both against a finite-difference directional derivative
    fd = (composite(x + 1e-6 * v_x, W + 1e-6 * v_W) - composite(x - 1e-6 * v_x, W - 1e-6 * v_W)) / 2e-6
    assert np.allclose(Jv, fd, rtol=1e-5, atol=1e-6)


test_adjoint_identity_forward_equals_reverse_thorough = slow_twin(
    test_adjoint_identity_forward_equals_reverse, **COMPOSITES, max_examples=40)


def test_full_jacobians_agree_and_match_finite_differences():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4))
    f = lambda x: composite(x, W)  # noqa: E731
    x = rng.standard_normal(4)
    fwd, bwd = ad.jacobian(f, x, mode="fwd"), ad.jacobian(f, x, mode="bwd")
    assert (fwd.sweeps, bwd.sweeps) == (4, 4)
    assert np.allclose(fwd.matrix, bwd.matrix, rtol=1e-12, atol=1e-14)
    assert np.allclose(fwd.matrix, central_difference(f, x), rtol=1e-6, atol=1e-7)


def test_several_inputs_and_outputs_flatten_in_order():
    f = lambda a, B: (a * ad.sum(B), B @ np.ones(2))  # noqa: E731
    B = np.array([[1.0, 2.0], [3.0, 4.0]])
    fwd, bwd = ad.jacobian(f, 2.0, B, mode="fwd"), ad.jacobian(f, 2.0, B, mode="bwd")
    expected = np.array([[10.0, 2, 2, 2, 2], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]])
    assert np.array_equal(fwd.matrix, expected) and np.array_equal(bwd.matrix, expected)


# -- depth: loops, not recursion --------------------------------------------------------


@pytest.mark.slow
def test_a_100000_node_chain_differentiates_without_recursion():
    n, c = 100_000, 1.000001
    x = ad.variable(0.7)
    y = x
    for _ in range(n):
        y = y * c
    order = ad.topological_order([y])
    assert len(order) == n + 1
    forward = ad.tangent_sweep([y], {x: 1.0})
    reverse = ad.adjoint_sweep([y], {y: 1.0})
    assert forward[y] == pytest.approx(c**n, rel=1e-9) and reverse[x] == pytest.approx(c**n, rel=1e-9)
    assert y.value == pytest.approx(0.7 * c**n, rel=1e-9)
    assert forward.madds == reverse.madds == n


@pytest.mark.slow
def test_a_deep_chain_of_mixed_functions_matches_finite_differences():
    def f(v, steps=5_000):
        for _ in range(steps):
            v = v + 1e-4 * (ad.cos(v) if isinstance(v, ad.Node) else math.cos(v)) * v
        return v

    derivative = ad.grad(f)(0.9)
    assert abs(derivative) > 0.1  # not a vanishing product: the comparison below means something
    assert derivative == pytest.approx((f(0.9 + 1e-6) - f(0.9 - 1e-6)) / 2e-6, rel=1e-6)
    assert ad.jvp(f, (0.9,), (1.0,))[1] == pytest.approx(derivative, rel=1e-12)


# -- counted costs: the notes' n_in versus n_out trade-off and the chain model --------------


def linear_chain(dims, seed=0, activation=None):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((m, n)) for n, m in zip(dims[:-1], dims[1:])]

    def f(x):
        for k, W in enumerate(Ws):
            x = W @ x
            if activation and k < len(Ws) - 1:
                x = getattr(ad, activation)(x)
        return x

    return f, rng.standard_normal(dims[0]), Ws


@settings(max_examples=25)
@given(dims=st.lists(st.integers(1, 6), min_size=2, max_size=5), act=st.sampled_from([None, "tanh", "relu"]))
def test_counted_sweep_costs_are_the_matrix_free_model_plus_activations(dims, act):
    """Also the complexity line's 'm_k' is n_k: FWD = n_1 sum n_k n_{k+1} with the dims n_k."""
    f, x, Ws = linear_chain(dims, activation=act)
    fwd, bwd = ad.jacobian(f, x, mode="fwd"), ad.jacobian(f, x, mode="bwd")
    inner = sum(dims[1:-1]) if act else 0
    assert fwd.sweeps == dims[0] and bwd.sweeps == dims[-1]
    assert fwd.madds == co.tangent_sweep_cost(dims) + dims[0] * inner
    assert bwd.madds == co.adjoint_sweep_cost(dims) + dims[-1] * inner
    # the chain model skips the identity seed through the first (last) layer
    assert co.tangent_sweep_cost(dims) - co.fwd_cost(dims) == dims[0] * dims[0] * dims[1]
    assert co.adjoint_sweep_cost(dims) - co.bwd_cost(dims) == dims[-1] * dims[-1] * dims[-2]
    if act is None:
        assert np.allclose(fwd.matrix, np.linalg.multi_dot(Ws[::-1]) if len(Ws) > 1 else Ws[0])
    assert np.allclose(fwd.matrix, bwd.matrix, rtol=1e-10, atol=1e-10)


def test_gradient_by_one_reverse_sweep_is_cheaper_than_n_in_forward_sweeps():
    f, x, _ = linear_chain([50, 20, 10, 1], activation="tanh")
    fwd, bwd = ad.jacobian(f, x, mode="fwd"), ad.jacobian(f, x, mode="bwd")
    assert bwd.sweeps == 1 and fwd.sweeps == 50 and fwd.madds == 50 * bwd.madds


def test_notes_slip_n1_equal_1_does_not_make_fwd_optimal_with_another_unit_dim():
    """Slip: 'if n_1 = 1 FWD optimal' fails for dims (1, 1, 100, 2): FWD 300, optimum 202."""
    assert co.fwd_cost([1, 1, 100, 2]) == 300 and co.plan([1, 1, 100, 2], "optimal").cost == 202


def test_scalar_counts_per_operation():
    x = ad.variable(2.0)
    p = notes1(x)  # log: 1, sqrt: 1, add: 0
    assert ad.tangent_sweep([p], {x: 1.0}).madds == 2 == ad.adjoint_sweep([p], {p: 1.0}).madds
    A = ad.variable(np.ones((3, 4)))
    out = ad.sum(ad.transpose(A @ np.ones((4, 5))))
    assert ad.tangent_sweep([out], {A: np.ones((3, 4))}).madds == 3 * 4 * 5


# -- API behaviour and errors ----------------------------------------------------------------


def test_broadcast_adjoints_are_summed_back_to_the_argument_shape():
    g_a, g_v = ad.grad(lambda a, v: ad.sum(a * v + a), argnums=(0, 1))(2.0, np.array([1.0, 2.0, 3.0]))
    assert g_a == pytest.approx(6.0 + 3.0) and np.allclose(g_v, 2.0)
    g_row = ad.grad(lambda r, M: ad.sum(M / r))(np.array([[1.0, 2.0]]), np.ones((3, 2)))
    assert np.allclose(g_row, [[-3.0, -3.0 / 4]])


def test_power_with_a_traced_exponent_and_constants_fold():
    gx, gy = ad.grad(lambda x, y: x**y, argnums=(0, 1))(2.0, 3.0)
    assert gx == pytest.approx(12.0) and gy == pytest.approx(8 * math.log(2))
    assert ad.grad(lambda x: 2.0**x + 0 * 5)(1.0) == pytest.approx(2 * math.log(2))
    assert ad.add(1.0, 2.0) == 3.0  # no nodes: a plain constant


def test_structural_zeros_for_unseeded_inputs():
    x, y = ad.variable(1.0), ad.variable(2.0)
    f = ad.sin(x) + y * 3
    t = ad.tangent_sweep([f], {x: 1.0})
    assert y not in t.derivatives and t[y] == 0.0 and t[f] == pytest.approx(math.cos(1.0))


def test_errors_name_the_problem():
    with pytest.raises(ShapeError, match=r"scalar output, got \(2,\)"):
        ad.grad(lambda x: x * 2)(np.ones(2))
    with pytest.raises(ShapeError, match=r"seed .* shape \(3,\); the node has shape \(2,\)"):
        x = ad.variable(np.ones(2))
        ad.tangent_sweep([x * 2], {x: np.ones(3)})
    with pytest.raises(ShapeError, match=r"\(2, 3\) @ \(2,\)"):
        ad.variable(np.ones((2, 3))) @ np.ones(2)
    with pytest.raises(ChainoptError, match="unknown Jacobian mode 'sideways'.*fwd, bwd"):
        ad.jacobian(ad.sin, 1.0, mode="sideways")
    with pytest.raises(ShapeError, match="do not broadcast"):
        ad.variable(np.ones(2)) + np.ones(3)
    with pytest.raises(ValueError):  # every chainopt error is a ValueError
        ad.vjp(ad.sin, (1.0,), (1.0, 2.0))


def test_counted_multiply_adds_are_exact_ints_beyond_int64():
    from chainopt.autodiff import JacobianResult

    result = JacobianResult(matrix=np.zeros((1, 1)), mode="fwd", madds_per_sweep=(2**62, 2**62))
    assert result.madds == 2**63 and type(result.madds) is int

"""chainopt.jax against jax.jacfwd / jax.jacrev on small random stacks, every strategy."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

from chainopt import jax as cjax  # noqa: E402
from chainopt.errors import ChainoptError  # noqa: E402

RNG = np.random.default_rng(7)


def _w(*shape):
    return jnp.asarray(RNG.standard_normal(shape) / np.sqrt(shape[-1]))


W1, b1, W2, W3 = _w(4, 6), _w(4), _w(2, 4), _w(5, 2)
A = _w(3, 5)
M, V = _w(4, 2), _w(3, 6)

STACKS = {
    "dense": ([lambda x: W1 @ x + b1, jnp.tanh, lambda x: W2 @ x, jnp.tanh, lambda x: W3 @ x], jnp.asarray(
        RNG.standard_normal(6))),
    "residual": ([lambda x: x + A.T @ jnp.tanh(A @ x), lambda x: x + A.T @ jnp.sin(A @ x), jnp.tanh],
                 jnp.asarray(RNG.standard_normal(5))),
    "matrix_input": ([lambda X: X @ M, jnp.tanh, lambda Y: V @ Y.reshape(-1)], jnp.asarray(
        RNG.standard_normal((3, 4)))),
    "to_scalar": ([lambda x: W1 @ x, cjax.elementwise(jnp.sin), lambda y: jnp.sum(y ** 2)], jnp.asarray(
        RNG.standard_normal(6))),
}


def _oracle(stages, x, jac):
    def f(x):
        for s in stages:
            x = s.fn(x) if isinstance(s, cjax.Stage) else s(x)
        return x
    J = jax.jit(jac(f))(x)
    return np.asarray(J).reshape(np.size(f(x)), np.size(x))


#: Every strategy on the dense stack and optimal on the to-scalar one by default; the rest of the cross is slow
#: (JAX compiles every stage of every new stack: about a second each on a loaded machine).
FAST = {("dense", s) for s in ("optimal", "fwd", "bwd", "preaccumulate")} | {("to_scalar", "optimal")}
CASES = [pytest.param(name, strategy, marks=[] if (name, strategy) in FAST else [pytest.mark.slow])
         for name in sorted(STACKS) for strategy in ("optimal", "fwd", "bwd", "preaccumulate")]


@pytest.mark.parametrize("name, strategy", CASES)
def test_every_strategy_equals_jacfwd_and_jacrev(name, strategy):
    stages, x = STACKS[name]
    J = cjax.jacobian(stages, x, strategy)
    assert isinstance(J, jax.Array) and J.dtype == jnp.float64
    for jac in (jax.jacfwd, jax.jacrev):
        expected = _oracle(stages, x, jac)
        assert np.allclose(np.asarray(J), expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def test_a_memory_limit_of_zero_forbids_every_adjoint_and_stays_exact():
    stages, x = STACKS["dense"]
    p = cjax.plan(stages, x, memory_limit=0)
    assert all(s.op != "ADJ" and s.mode != "ADJ" for s in p.plan.steps)
    J = cjax.jacobian(stages, x, memory_limit=0)
    assert np.allclose(np.asarray(J), _oracle(stages, x, jax.jacrev), rtol=1e-10)


def test_costs_come_from_the_flop_count_and_elementwise_stages_are_detected():
    stages, x = STACKS["dense"]
    p = cjax.plan(stages, x)
    dense = p.stages[0].factor
    assert (dense.n_in, dense.n_out, dense.tangent, dense.adjoint) == (6, 4, 24, 24)  # one matvec: 4 x 6
    assert [s.factor.diagonal for s in p.stages] == [False, True, False, True, False]
    assert "detected" in p.stages[1].source
    square = cjax.plan([lambda x: x + A.T @ (A @ x)], jnp.ones(5))
    assert not square.stages[0].factor.diagonal
    declared = cjax.plan(STACKS["to_scalar"][0], STACKS["to_scalar"][1])
    assert "declared" in declared.stages[1].source


def test_the_report_prints_like_chainopt_cost():
    stages, x = STACKS["dense"]
    text = str(cjax.plan(stages, x))
    for label in ("FWD cost:", "BWD cost:", "optimal cost:", "optimal plan:", "multiply-adds"):
        assert label in text


def test_a_second_call_traces_nothing():
    calls = []

    def stage(x):
        calls.append(1)
        return jnp.tanh(W1 @ x)

    jac = cjax.Jacobian([stage, lambda y: W2 @ y])
    x = jnp.ones(6)
    first = jac(x)
    n = len(calls)
    second = jac(x + 1.0)
    assert len(calls) == n and len(jac.first_calls) == 1
    assert not np.allclose(np.asarray(first), np.asarray(second))
    assert np.allclose(np.asarray(second), _oracle([stage, lambda y: W2 @ y], x + 1.0, jax.jacfwd), rtol=1e-10)


@pytest.mark.slow  # times every stage: about a second
def test_costs_by_timing_give_the_same_jacobian():
    stages, x = STACKS["dense"]
    p = cjax.plan(stages, x, costs="time")
    assert all(s.factor.tangent >= 1 and s.source.startswith("time") for s in p.stages)
    J = cjax.jacobian(stages, x, costs="time")
    assert np.allclose(np.asarray(J), _oracle(stages, x, jax.jacrev), rtol=1e-10)


@pytest.mark.parametrize("kwargs, match", [
    ({"strategy": "fastest"}, "unknown strategy 'fastest'"),
    ({"memory_limit": -1}, "memory_limit is -1"),
    ({"costs": "guess"}, "unknown costs 'guess'"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ChainoptError, match=match):
        cjax.jacobian([jnp.tanh], jnp.ones(2), **kwargs)


def test_a_failing_stage_is_named():
    with pytest.raises(ChainoptError, match=r"stage 2 \(lambda\) failed on its input of shape \(4,\)"):
        cjax.jacobian([lambda x: W1 @ x, lambda y: W1 @ y], jnp.ones(6))
    with pytest.raises(ChainoptError, match="stage 1 is int 3"):
        cjax.jacobian([3], jnp.ones(6))


@pytest.mark.slow  # a new stack: JAX compiles its stages
def test_a_pytree_between_stages_is_flattened_leaf_by_leaf():
    stages = [lambda x: {"a": x[:2] * 2.0, "b": jnp.sin(x[2:])}, lambda t: jnp.sum(t["a"]) * t["b"]]
    x = jnp.asarray(RNG.standard_normal(5))
    p = cjax.plan(stages, x)
    assert (p.stages[0].out_shape, p.plans["optimal"].chain.dims) == ("(2,)+(3,)", (5, 5, 3))
    J = cjax.jacobian(stages, x)
    assert np.allclose(np.asarray(J), _oracle(stages, x, jax.jacrev), rtol=1e-10)


def test_a_wrong_elementwise_declaration_is_refused_and_upper_case_strategies_work():
    M = np.random.default_rng(3).standard_normal((5, 5))
    with pytest.raises(ChainoptError, match="declared elementwise, but its Jacobian at this point is not diagonal"):
        cjax.jacobian([cjax.elementwise(lambda v: jnp.asarray(M) @ v), jnp.tanh], jnp.ones(5))
    x = jnp.linspace(-1.0, 1.0, 5)
    J = cjax.jacobian([cjax.elementwise(jnp.tanh), lambda v: jnp.asarray(M) @ v], x, strategy="FWD")
    np.testing.assert_allclose(np.asarray(J), M * (1 - np.tanh(np.asarray(x)) ** 2), rtol=1e-12)


def _dots(hlo: str) -> int:
    return sum(" dot(" in line for line in hlo.splitlines())


@pytest.mark.parametrize("widths, strategy, peer", [((2, 8, 16), "fwd", jax.jacfwd),
                                                    pytest.param((16, 8, 2), "bwd", jax.jacrev,
                                                                 marks=pytest.mark.slow)])  # compiles: ~2 s each
def test_a_pure_mode_plan_compiles_to_the_dot_products_of_jacfwd_or_jacrev(widths, strategy, peer):
    params = [_w(m, n) for n, m in zip(widths, widths[1:])]
    stages = []
    for k, w in enumerate(params):
        stages.append(lambda x, w=w: w @ x)
        if k < len(params) - 1:
            stages.append(jnp.tanh)

    def f(params, x):
        for k, w in enumerate(params):
            x = w @ x
            x = jnp.tanh(x) if k < len(params) - 1 else x
        return x

    x = jnp.asarray(RNG.standard_normal(widths[0]))
    jac = cjax.Jacobian(stages, "optimal")
    assert jac.plan(x).plan.operations == cjax.plan(stages, x, strategy).plan.operations  # optimal is the pure mode
    ours = _dots(jac.lower(x).compile().as_text())
    theirs = _dots(jax.jit(peer(f, argnums=1)).lower(params, x).compile().as_text())
    assert ours == theirs >= len(params)  # a primal and a tangent dot per layer; XLA drops or simplifies some
    assert np.allclose(np.asarray(jac(x)), np.asarray(peer(f, argnums=1)(params, x)).reshape(widths[-1], -1),
                       rtol=1e-10)

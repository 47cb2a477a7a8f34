"""chainopt.torch against torch.func.jacfwd / jacrev on small random stacks, every strategy."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from chainopt import torch as ctorch  # noqa: E402
from chainopt.errors import ChainoptError  # noqa: E402

F64 = torch.float64
GEN = torch.Generator().manual_seed(7)


def _w(*shape):
    return torch.randn(*shape, generator=GEN, dtype=F64) / shape[-1] ** 0.5


class Residual(torch.nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.A = torch.nn.Parameter(_w(hidden, width))

    def forward(self, x):
        return x + self.A.T @ torch.tanh(self.A @ x)


def _linear(n_in, n_out):
    layer = torch.nn.Linear(n_in, n_out).double()
    with torch.no_grad():
        layer.weight.copy_(_w(n_out, n_in))
        layer.bias.copy_(_w(n_out))
    return layer


M, V = _w(4, 2), _w(3, 6)

STACKS = {
    "dense": (torch.nn.Sequential(_linear(6, 4), torch.nn.Tanh(), _linear(4, 2), torch.nn.Sigmoid(), _linear(2, 5)),
              torch.randn(6, generator=GEN, dtype=F64)),
    "residual": ([Residual(5, 3), Residual(5, 3), torch.nn.ReLU()], torch.randn(5, generator=GEN, dtype=F64)),
    "matrix_input": ([lambda X: X @ M, torch.tanh, lambda Y: V @ Y.reshape(-1)],
                     torch.randn(3, 4, generator=GEN, dtype=F64)),
    "to_scalar": ([_linear(6, 4), ctorch.elementwise(torch.sin), lambda y: (y ** 2).sum()],
                  torch.randn(6, generator=GEN, dtype=F64)),
}


def _f(stages):
    stages = list(stages)

    def f(x):
        for s in stages:
            x = s.fn(x) if isinstance(s, ctorch.Stage) else s(x)
        return x
    return f


def _oracle(stages, x, jac):
    f = _f(stages)
    return jac(f)(x).detach().reshape(f(x).numel(), x.numel()).numpy()


@pytest.mark.parametrize("strategy", ["optimal", "fwd", "bwd", "preaccumulate"])
@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_strategy_equals_jacfwd_and_jacrev(name, strategy):
    stages, x = STACKS[name]
    J = ctorch.jacobian(stages, x, strategy)
    assert isinstance(J, torch.Tensor) and J.dtype == F64
    for jac in (torch.func.jacfwd, torch.func.jacrev):
        expected = _oracle(stages, x, jac)
        assert np.allclose(J.detach().numpy(), expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def test_a_memory_limit_of_zero_forbids_every_adjoint_and_stays_exact():
    stages, x = STACKS["dense"]
    p = ctorch.plan(stages, x, memory_limit=0)
    assert all(s.op != "ADJ" and s.mode != "ADJ" for s in p.plan.steps)
    J = ctorch.jacobian(stages, x, memory_limit=0)
    assert np.allclose(J.detach().numpy(), _oracle(stages, x, torch.func.jacrev), rtol=1e-10)


def test_costs_come_from_the_flop_counter_and_elementwise_stages_are_detected():
    W = _w(4, 6)
    stages = [lambda v: W @ v, lambda v: torch.sin(v), Residual(4, 3)]
    p = ctorch.plan(stages, torch.ones(6, dtype=F64))
    dense = p.stages[0].factor
    assert (dense.n_in, dense.n_out, dense.tangent, dense.adjoint) == (6, 4, 24, 24)  # one matvec: 4 x 6
    assert [s.factor.diagonal for s in p.stages] == [False, True, False]
    assert not any(s.factor.given for s in p.stages)
    assert p.stages[1].source == "counted + diagonal (detected)"
    assert not ctorch.plan([Residual(5, 3)], torch.ones(5, dtype=F64)).stages[0].factor.diagonal
    assert "declared" in ctorch.plan(*STACKS["to_scalar"]).stages[1].source


def test_linear_and_known_elementwise_stages_are_given_factors():
    stages, x = STACKS["dense"]
    p = ctorch.plan(stages, x)
    assert [s.factor.given for s in p.stages] == [True] * 5
    assert [s.factor.diagonal for s in p.stages] == [False, True, False, True, False]
    assert p.stages[0].source == "given (Linear: its weight)" and p.stages[0].factor.tangent == 24
    assert p.stages[1].source == "given (tanh: diagonal from the forward pass)"
    # every step is a product of given Jacobians: no tangent, adjoint or preaccumulation runs
    assert {op for op, *_ in p.plan.operations} == {"MUL"}
    # the Linear's weight is read on every call: an update in place changes the Jacobian
    layer = _linear(3, 2)
    J0 = ctorch.jacobian([layer, torch.tanh], torch.ones(3, dtype=F64))
    with torch.no_grad():
        layer.weight.mul_(2.0)
    J1 = ctorch.jacobian([layer, torch.tanh], torch.ones(3, dtype=F64))
    assert np.allclose(J1.detach().numpy(), _oracle([layer, torch.tanh], torch.ones(3, dtype=F64),
                                                      torch.func.jacrev), rtol=1e-10)
    assert not np.allclose(J0.detach().numpy(), J1.detach().numpy())


def test_given_and_transformed_stages_mix_in_every_strategy():
    # a Linear on a matrix (not given: its Jacobian is not its weight), a ReLU, a Sigmoid function, a Residual
    stages = [lambda X: X.reshape(-1), _linear(6, 5), torch.nn.ReLU(), Residual(5, 4), torch.sigmoid,
              _linear(5, 5), torch.nn.Tanh(), _linear(5, 1)]
    x = torch.randn(2, 3, generator=GEN, dtype=F64)
    p = ctorch.plan(stages, x)
    assert [s.factor.given for s in p.stages] == [False, True, True, False, True, True, True, True]
    batched = ctorch.plan([_linear(3, 2)], torch.ones(4, 3, dtype=F64))
    assert not batched.stages[0].factor.given
    expected = _oracle(stages, x, torch.func.jacrev)
    for strategy in ("optimal", "fwd", "bwd", "preaccumulate"):
        for limit in (None, 0) if strategy != "bwd" else (None,):  # bwd under a limit of 0 is refused
            J = ctorch.jacobian(stages, x, strategy, memory_limit=limit)
            assert np.allclose(J.detach().numpy(), expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
    one = ctorch.jacobian([_linear(3, 2)], torch.ones(3, dtype=F64))  # one given factor: no operation at all
    assert one.shape == (2, 3)


def test_the_report_prints_like_chainopt_cost():
    stages, x = STACKS["dense"]
    text = str(ctorch.plan(stages, x))
    for label in ("FWD cost:", "BWD cost:", "optimal cost:", "optimal plan:", "multiply-adds"):
        assert label in text


def test_costs_by_timing_give_the_same_jacobian():
    stages, x = STACKS["dense"]
    p = ctorch.plan(stages, x, costs="time")
    assert all(s.factor.tangent >= 1 and s.source.startswith("time" if not s.factor.given else "given")
               for s in p.stages)
    timed = ctorch.plan([lambda v: torch.sin(v) * 2.0], x, costs="time").stages[0]
    assert timed.source.startswith("time") and timed.factor.tangent >= 1
    J = ctorch.jacobian(stages, x, costs="time")
    assert np.allclose(J.detach().numpy(), _oracle(stages, x, torch.func.jacrev), rtol=1e-10)


@pytest.mark.parametrize("kwargs, match", [
    ({"strategy": "fastest"}, "unknown strategy 'fastest'"),
    ({"memory_limit": 1.5}, "memory_limit is 1.5"),
    ({"costs": "guess"}, "unknown costs 'guess'"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ChainoptError, match=match):
        ctorch.jacobian([torch.tanh], torch.ones(2), **kwargs)


def test_a_failing_stage_is_named():
    with pytest.raises(ChainoptError, match=r"stage 2 \(Linear\) failed on its input of shape \(4,\)"):
        ctorch.jacobian([_linear(6, 4), _linear(6, 4)], torch.ones(6, dtype=F64))


def test_a_pytree_between_stages_is_flattened_leaf_by_leaf():
    stages = [lambda x: (x[:2] * 2.0, torch.sin(x[2:])), lambda t: t[0].sum() * t[1]]
    x = torch.randn(5, generator=GEN, dtype=F64)
    p = ctorch.plan(stages, x)
    assert (p.stages[0].out_shape, p.plans["optimal"].chain.dims) == ("(2,)+(3,)", (5, 5, 3))
    J = ctorch.jacobian(stages, x)
    assert np.allclose(J.numpy(), _oracle(stages, x, torch.func.jacrev), rtol=1e-10)


def test_a_wrong_elementwise_declaration_is_refused_and_upper_case_strategies_work():
    M = torch.as_tensor(np.random.default_rng(3).standard_normal((5, 5)))
    with pytest.raises(ChainoptError, match="declared elementwise, but its Jacobian at this point is not diagonal"):
        ctorch.jacobian([ctorch.elementwise(lambda v: M @ v), torch.tanh], torch.ones(5, dtype=torch.float64))
    x = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    J = ctorch.jacobian([ctorch.elementwise(torch.tanh), lambda v: M @ v], x, strategy="BWD")
    np.testing.assert_allclose(J.numpy(), (M * (1 - torch.tanh(x) ** 2)).numpy(), rtol=1e-12)


def test_on_a_cost_tie_the_optimal_plan_is_reverse_mode():
    stages = [Residual(5, 3), Residual(5, 3), Residual(5, 3)]
    x = torch.randn(5, generator=GEN, dtype=F64)
    p = ctorch.plan(stages, x)
    assert p.plans["bwd"].cost == p.plans["fwd"].cost == p.plans["optimal"].cost  # the tie
    assert str(p.plan) == str(p.plans["bwd"]) and str(p.plans["optimal"]) != str(p.plans["bwd"])
    assert np.allclose(ctorch.jacobian(stages, x).detach().numpy(), _oracle(stages, x, torch.func.jacfwd),
                       rtol=1e-10)

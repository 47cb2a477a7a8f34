"""run_plan / execute_generalized: every strategy's plan and random trees give the chain's Jacobian."""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.core.factors import Factor
from chainopt.core.plan import Plan
from chainopt.core.strategies.generalized import generalized_dp, preaccumulate
from chainopt.core.strategies.makespan import makespan_dp
from chainopt.core.strategies.sweeps import global_adjoint, global_tangent
from chainopt.errors import NonFiniteError, ShapeError
from chainopt.execution import execute_generalized
from chainopt.execution.generalized import FactorProvider, MatrixFactors, run_plan

KINDS = ("dense", "diagonal", "given", "given_diagonal")


class DenseProvider:
    """Matrix-free factors backed by random matrices; counts every call and records block shapes."""

    def __init__(self, mats, square_diagonals=()):
        self.mats = mats  # 1-D for diagonal factors
        self.square = set(square_diagonals)  # diagonal given factors whose jacobian() is a square matrix
        self.calls = Counter()
        self.blocks = []

    def jacobian(self, k):
        self.calls["jacobian", k] += 1
        a = self.mats[k]
        return np.diag(a) if k in self.square else a

    def tangent(self, k, block):
        self.calls["tangent", k] += 1
        self.blocks.append(("tangent", k, block.shape))
        a = self.mats[k]
        return a[:, None] * block if a.ndim == 1 else a @ block

    def adjoint(self, k, block):
        self.calls["adjoint", k] += 1
        self.blocks.append(("adjoint", k, block.shape))
        a = self.mats[k]
        return block * a[None, :] if a.ndim == 1 else block @ a


def dense(a):
    return np.diag(a) if a.ndim == 1 else a


def reference(mats):
    return functools.reduce(np.matmul, [dense(a) for a in reversed(mats)])


def assert_close(J, ref):
    assert J.shape == ref.shape and J.ndim == 2
    np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-12 * max(1.0, np.linalg.norm(ref)))


@st.composite
def chains(draw, max_factors=6):
    q = draw(st.integers(1, max_factors))
    n = draw(st.integers(1, 6))
    factors, kinds = [], []
    for _ in range(q):
        kind = draw(st.sampled_from(KINDS))
        diagonal = kind in ("diagonal", "given_diagonal")
        m = n if diagonal else draw(st.integers(1, 6))
        if kind.startswith("given"):
            factors.append(Factor(n_in=n, n_out=m, diagonal=diagonal, given=True))
        else:
            cost = st.integers(0, 60)
            factors.append(Factor(n_in=n, n_out=m, tangent=draw(cost), adjoint=draw(cost), tape=draw(cost),
                                  diagonal=diagonal))
        kinds.append(kind)
        n = m
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mats = [rng.standard_normal(f.n_in) if f.diagonal else rng.standard_normal(f.shape) for f in factors]
    square = {k for k, f in enumerate(factors) if f.given and f.diagonal and draw(st.booleans())}
    return factors, mats, square


def strategy_plans(factors, limit):
    yield Plan.from_nodes(factors, generalized_dp(factors)[1])
    yield Plan.from_nodes(factors, generalized_dp(factors, memory_limit=limit)[1], memory_limit=limit)
    yield Plan.from_nodes(factors, global_tangent(factors)[1])
    yield Plan.from_nodes(factors, global_adjoint(factors)[1])
    yield Plan.from_nodes(factors, preaccumulate(factors)[1])
    yield Plan.from_nodes(factors, preaccumulate(factors, limit)[1], memory_limit=limit)
    yield Plan.from_nodes(factors, makespan_dp(factors, 2)[1])


@st.composite
def random_nodes(draw, q):
    """A random full tree over factors 0..q-1: every range gets MUL (any split), TAN or ADJ."""
    nodes, stack = {}, [(0, q - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo == hi:
            if draw(st.booleans()):
                nodes[(lo, hi)] = ("ACC", lo)
            continue
        op = draw(st.sampled_from(("MUL", "TAN", "ADJ")))
        if op == "MUL":
            mid = draw(st.integers(lo, hi - 1))
            stack += [(lo, mid), (mid + 1, hi)]
        elif op == "TAN":
            mid = hi - 1
            stack.append((lo, hi - 1))
        else:
            mid = lo
            stack.append((lo + 1, hi))
        nodes[(lo, hi)] = (op, mid)
    return nodes


def check_calls(plan, provider):
    """Each TAN/ADJ/ACC calls the provider once with the whole block; given factors are read once."""
    expected = Counter()
    for step, (op, lo, _, hi) in zip(plan.steps, plan.operations):
        if op == "TAN" or (op == "ACC" and step.mode == "TAN"):
            expected["tangent", hi] += 1
        elif op == "ADJ" or op == "ACC":
            expected["adjoint", lo] += 1
    for op, lo, mid, hi in plan.operations:  # a given factor is read where an operation consumes it
        operands = {"MUL": [(lo, mid), (mid + 1, hi)], "TAN": [(lo, hi - 1)], "ADJ": [(lo + 1, hi)]}.get(op, [])
        expected.update(("jacobian", a) for a, b in operands if a == b and plan.factors[a].given)
    if plan.chain.n_factors == 1 and plan.factors[0].given:
        expected["jacobian", 0] += 1
    assert provider.calls == expected
    d = plan.chain.dims
    blocks = iter(provider.blocks)
    for op, lo, _, hi in plan.operations:  # the blocks are whole: n_lo columns / n_{hi+1} rows
        if op == "MUL":
            continue
        kind, k, shape = next(blocks)
        diag = plan._is_diagonal(lo, hi)
        if op == "TAN":
            assert (kind, k, shape) == ("tangent", hi, (d[hi], 1 if diag else d[lo]))
        elif op == "ADJ":
            assert (kind, k, shape) == ("adjoint", lo, (1 if diag else d[hi + 1], d[lo + 1]))


# 12 examples, seven plans each: the fixed sweep, diagonal and formed-plan cases below check the same
# products and calls, and the random trees reach every plan shape; the _thorough twin (-m slow) runs 60
@fewer_examples(12)
@given(chains(), st.integers(0, 70))
def test_every_strategy_plan_gives_the_jacobian(chain, limit):
    factors, mats, square = chain
    ref = reference(mats)
    for plan in strategy_plans(factors, limit):
        provider = DenseProvider(mats, square)
        assert_close(run_plan(plan, provider), ref)
        check_calls(plan, provider)


test_every_strategy_plan_gives_the_jacobian_thorough = slow_twin(
    test_every_strategy_plan_gives_the_jacobian, chains(), st.integers(0, 70), max_examples=60)


# 12 examples: the fixed sweep, diagonal and formed-plan cases below check the same products and calls;
# the _thorough twin (-m slow) runs 60
@fewer_examples(12)
@given(st.data())
def test_random_trees_give_the_jacobian(data):
    factors, mats, square = data.draw(chains(max_factors=7))
    plan = Plan.from_nodes(factors, data.draw(random_nodes(len(factors))))
    provider = DenseProvider(mats, square)
    assert_close(run_plan(plan, provider), reference(mats))
    check_calls(plan, provider)
    # the same plan on formed matrices (diagonals 1-D) through the checked entry point
    assert_close(execute_generalized(plan, mats), reference(mats))


test_random_trees_give_the_jacobian_thorough = slow_twin(test_random_trees_give_the_jacobian, st.data(),
                                                        max_examples=60)


def test_tangent_and_adjoint_sweeps_call_once_per_factor_with_the_whole_block():
    rng = np.random.default_rng(0)
    dims = [5, 7, 3, 8, 4]
    factors = [Factor(n_in=a, n_out=b, tangent=a * b, adjoint=a * b) for a, b in zip(dims, dims[1:])]
    mats = [rng.standard_normal((b, a)) for a, b in zip(dims, dims[1:])]
    fwd = Plan.from_nodes(factors, global_tangent(factors)[1])
    provider = DenseProvider(mats)
    assert_close(run_plan(fwd, provider), reference(mats))
    assert provider.calls == Counter({("tangent", k): 1 for k in range(4)})
    assert provider.blocks == [("tangent", k, (dims[k], dims[0])) for k in range(4)]
    bwd = Plan.from_nodes(factors, global_adjoint(factors)[1])
    provider = DenseProvider(mats)
    assert_close(run_plan(bwd, provider), reference(mats))
    assert provider.calls == Counter({("adjoint", k): 1 for k in range(4)})
    assert provider.blocks == [("adjoint", k, (dims[-1], dims[k + 1])) for k in (3, 2, 1, 0)]


def test_diagonal_chain_stays_diagonal_and_returns_a_matrix():
    factors = [Factor(n_in=4, n_out=4, tangent=1, adjoint=1, diagonal=True) for _ in range(3)]
    mats = [np.arange(1.0, 5.0) * (k + 1) for k in range(3)]
    plan = Plan.from_nodes(factors, global_tangent(factors)[1])
    provider = DenseProvider(mats)
    J = run_plan(plan, provider)
    assert_close(J, reference(mats))
    assert all(shape == (4, 1) for _, _, shape in provider.blocks)  # one direction each


def test_formed_plan_and_single_factor():
    rng = np.random.default_rng(1)
    mats = [rng.standard_normal((3, 2)), rng.standard_normal((4, 3))]
    plan = Plan.parse("A2 A1", [2, 3, 4])  # factors is None
    assert_close(run_plan(plan, MatrixFactors(mats)), reference(mats))
    one = Plan.parse("A1", [Factor(n_in=2, n_out=3, given=True)])
    J = execute_generalized(one, mats[:1])
    assert_close(J, mats[0]) and J is not mats[0]
    assert not np.shares_memory(J, mats[0])
    diag = Plan.parse("A1", [Factor(n_in=3, n_out=3, given=True, diagonal=True)])
    assert_close(execute_generalized(diag, [np.array([1.0, 2.0, 3.0])]), np.diag([1.0, 2.0, 3.0]))


def test_provider_protocol_and_errors():
    assert isinstance(MatrixFactors([np.eye(2)]), FactorProvider)
    assert isinstance(DenseProvider([np.eye(2)]), FactorProvider)
    factors = [Factor(n_in=2, n_out=3, tangent=1, adjoint=1), Factor(n_in=3, n_out=1, given=True)]
    plan = Plan.parse("A2 A1", factors)
    with pytest.raises(ShapeError, match="A2 has shape"):
        execute_generalized(plan, [np.ones((3, 2)), np.ones((3, 1))])
    with pytest.raises(ShapeError, match="2 factors but 1"):
        execute_generalized(plan, [np.ones((3, 2))])
    with pytest.raises(NonFiniteError):
        execute_generalized(plan, [np.full((3, 2), np.nan), np.ones((1, 3))])

    class Wrong(DenseProvider):
        def tangent(self, k, block):
            return np.ones((7, 7))

        adjoint = tangent

    with pytest.raises(ShapeError, match=r"provider\.(tangent|adjoint)\(0"):
        run_plan(plan, Wrong([np.ones((3, 2)), np.ones((1, 3))]))


def test_float32_stays_float32():
    factors = [Factor(n_in=2, n_out=3, tangent=1, adjoint=9),
               Factor(n_in=3, n_out=3, tangent=1, adjoint=1, diagonal=True)]
    mats = [np.ones((3, 2), np.float32), np.ones(3, np.float32)]
    plan = Plan.from_nodes(factors, generalized_dp(factors)[1])
    assert execute_generalized(plan, mats).dtype == np.float32

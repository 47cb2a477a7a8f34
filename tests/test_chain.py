"""Chain validation and the exact closed-form costs of the two pure modes."""

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt import Chain, DimensionError, ShapeError

dims_lists = st.lists(st.integers(1, 60), min_size=2, max_size=9)


def test_chain_basics():
    chain = Chain([784, 512, 256, 10, 1])
    assert chain.dims == (784, 512, 256, 10, 1)
    assert chain.n_factors == 4
    assert chain.shape == (1, 784)
    assert chain.kind == "wide"
    assert Chain([1, 5, 3]).kind == "tall"
    assert Chain([4, 5, 4]).kind == "square"
    assert [chain.factor_shape(k) for k in range(1, 5)] == [(512, 784), (256, 512), (10, 256), (1, 10)]
    assert chain.reversed().dims == (1, 10, 256, 512, 784)
    assert str(chain) == "784 -> 512 -> 256 -> 10 -> 1"


def test_chain_accepts_numpy_ints_and_is_immutable_and_hashable():
    chain = Chain(np.array([3, 4, 5]))
    assert chain.dims == (3, 4, 5) and all(type(d) is int for d in chain.dims)
    assert Chain((3, 4, 5)) == chain and hash(Chain([3, 4, 5])) == hash(chain)
    with pytest.raises(AttributeError):
        chain.dims = (1, 2)
    assert Chain(chain) == chain


@pytest.mark.parametrize(
    "dims, expected",
    [
        ([3], r"at least 2 dims"),
        ([], r"at least 2 dims"),
        ([3, 0, 4], r"n_2 is 0"),
        ([3, 4, -5], r"n_3 is -5"),
        ([3, 2.0], r"n_2 is 2\.0 \(float\)"),
        ([True, 3], r"n_1 is True, a bool"),
        ([3, "4"], r"n_2 is '4' \(str\)"),
        ([3, None], r"n_2 is None"),
        ("345", r"sequence of positive integers, got str"),
        (7, r"sequence of positive integers, got int"),
        (np.ones((2, 2), dtype=int), r"one-dimensional"),
    ],
)
def test_chain_rejects_bad_dims_naming_position_and_value(dims, expected):
    with pytest.raises(DimensionError, match=expected):
        Chain(dims)


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        Chain([0, 1])
    assert issubclass(co.ChainoptError, ValueError)


def test_from_jacobians():
    mats = [np.ones((5, 3)), np.ones((7, 5)), np.ones((2, 7))]
    assert Chain.from_jacobians(mats).dims == (3, 5, 7, 2)


@pytest.mark.parametrize(
    "shapes, expected",
    [
        ([(5, 3), (7, 6)], r"A_2 has shape \(7, 6\) but A_1 has shape \(5, 3\).*5 columns"),
        ([(5, 3), (7,)], r"A_2 must be a 2-D array, got shape \(7,\)"),
        ([(5, 3, 1)], r"A_1 must be a 2-D array"),
        ([], r"empty"),
        ([(0, 3)], r"do not form a chain.*n_2 is 0"),
    ],
)
def test_from_jacobians_rejects_shapes_that_do_not_chain(shapes, expected):
    with pytest.raises(ShapeError, match=expected):
        Chain.from_jacobians([np.ones(s) for s in shapes])


def _fwd_by_definition(dims):
    """Forward mode step by step: (n_{k+1} x n_k) @ (n_k x n_1) for k = 2..N-1."""
    return sum(dims[k + 1] * dims[k] * dims[0] for k in range(1, len(dims) - 1))


def _bwd_by_definition(dims):
    """Reverse mode step by step: (n_N x n_{k+1}) @ (n_{k+1} x n_k) for k = N-2..1."""
    return sum(dims[-1] * dims[k + 1] * dims[k] for k in range(len(dims) - 2))


# 20 examples each: test_costs_are_exact_big_ints checks both closed forms on fixed cases; the _thorough twins
# (-m slow) run 100
@fewer_examples(20)
@given(dims_lists)
def test_closed_forms_equal_the_step_by_step_definitions_and_the_plans(dims):
    assert co.fwd_cost(dims) == _fwd_by_definition(dims) == co.plan(dims, "fwd").cost
    assert co.bwd_cost(dims) == _bwd_by_definition(dims) == co.plan(dims, "bwd").cost


test_closed_forms_equal_the_step_by_step_definitions_and_the_plans_thorough = slow_twin(
    test_closed_forms_equal_the_step_by_step_definitions_and_the_plans, dims_lists, max_examples=100)


@fewer_examples(20)
@given(dims_lists)
def test_fwd_of_dims_is_bwd_of_reversed_dims(dims):
    assert co.fwd_cost(dims) == co.bwd_cost(dims[::-1])
    assert co.tangent_sweep_cost(dims) == co.adjoint_sweep_cost(dims[::-1])


test_fwd_of_dims_is_bwd_of_reversed_dims_thorough = slow_twin(test_fwd_of_dims_is_bwd_of_reversed_dims, dims_lists,
                                                              max_examples=100)


def test_costs_are_exact_big_ints():
    big = 10**7
    dims = [big, big + 1, big + 2, big + 3]
    expected_fwd = big * ((big + 1) * (big + 2) + (big + 2) * (big + 3))
    assert co.fwd_cost(dims) == expected_fwd
    assert type(co.fwd_cost(dims)) is int
    assert expected_fwd > 2**63  # would wrap in int64
    assert co.fwd_cost(dims) != int(float(expected_fwd))  # and float rounding would show
    huge = [10**30, 1, 10**30]
    assert co.bwd_cost(huge) == 10**60


def test_matrix_free_model_is_separate_and_named():
    dims = [2, 3, 1]
    assert co.tangent_sweep_cost(dims) == 2 * (2 * 3 + 3 * 1)
    assert co.adjoint_sweep_cost(dims) == 1 * (2 * 3 + 3 * 1)
    assert co.tangent_sweep_cost(dims) - co.fwd_cost(dims) == dims[0] * dims[0] * dims[1]

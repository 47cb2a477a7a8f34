"""The costliest dense product of a plan, and its timing by library."""

import pytest

import chainopt as co
from chainopt.experiments.kernels import costliest_product, kernel_rows
from chainopt.layers import mlp


def test_the_costliest_product_by_hand():
    # reverse mode on 784 -> 512 -> 256 -> 10: 10 adjoint rows through W1 (512 x 784) cost 10*512*784, the most
    assert costliest_product(mlp([784, 512, 256, 10], seed=0).plan("bwd")) == (10, 512, 784)
    # forward mode on 1 -> 20 -> 30: the tangent column through W2 (30 x 20) costs 600, W1's scaling is no product
    assert costliest_product(mlp([1, 20, 30], seed=0).plan("fwd")) == (30, 20, 1)
    # formed Jacobians A1 (3 x 2), A2 (4 x 3): the one product A2 @ A1
    assert costliest_product(co.plan([2, 3, 4])) == (4, 3, 2)
    # 2 -> 50 -> 3 -> 40 by bwd: A3 @ A2 (40x3 @ 3x50, 6000) then that @ A1 (40x50 @ 50x2, 4000)
    plan = co.plan([2, 50, 3, 40], "bwd")
    assert str(plan) == "(A3 A2) A1" and costliest_product(plan) == (40, 3, 50)


def test_a_plan_without_a_product_has_none():
    assert costliest_product(co.plan([3, 4])) is None
    assert costliest_product(co.layers.Network([co.layers.Elementwise(3)]).plan()) is None


def test_kernel_rows_time_numpy_alone_without_peers():
    rows = kernel_rows({"small": mlp([20, 10, 2], seed=0).plan()}, peers=(), repeats=3, min_time=0.0)
    assert len(rows) == 1
    (row,) = rows
    assert row["product"] == "2 x 10 @ 10 x 20" and row["madds"] == 400
    assert row["numpy_us"] > 0 and row["numpy_over_best_peer"] is None


def test_kernel_rows_include_an_installed_peer():
    pytest.importorskip("jax")
    (row,) = kernel_rows({"small": mlp([20, 10, 2], seed=0).plan()}, peers=("jax",), repeats=3, min_time=0.0)
    assert row["jax_us"] > 0 and row["numpy_over_best_peer"] > 0

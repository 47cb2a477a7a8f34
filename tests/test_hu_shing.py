"""Hu & Shing's O(n log n) optimal order against the DP, numpy, CLRS, and itself.

Oracles: the vectorised O(n^3) DP (:func:`chainopt.optimal_cost_table`), numpy's
own matrix-chain DP (the one ``multi_dot`` uses), the CLRS cost table, and the
plan itself: every returned bracketing is checked to be a full bracketing whose
step costs add up to the returned cost.
"""

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.core.strategies.hu_shing import hu_shing
from chainopt.errors import DimensionError

try:  # numpy >= 2 keeps the helper in numpy.linalg._linalg
    from numpy.linalg._linalg import _multi_dot_matrix_chain_order as numpy_order
except ImportError:  # pragma: no cover - older numpy
    from numpy.linalg.linalg import _multi_dot_matrix_chain_order as numpy_order

CORMEN = [30, 35, 15, 5, 10, 20, 25]


def dp_cost(dims) -> int:
    """Return the optimum by the DP."""
    cost, _ = co.optimal_cost_table(dims)
    return int(cost[0, -1])


def numpy_cost(dims) -> int:
    """Return the optimum by numpy's DP, on the written order [A_{N-1}, ..., A_0]."""
    written = [np.empty((dims[k + 1], dims[k])) for k in range(len(dims) - 1)][::-1]
    _, costs = numpy_order(written, return_costs=True)
    return int(costs[0, -1])


def check_plan(dims, cost, splits) -> None:
    """Assert that ``splits`` is a full bracketing whose steps cost ``cost``."""
    n_factors = len(dims) - 1
    assert len(splits) == n_factors - 1
    mid_of = {}
    for lo, mid, hi in splits:
        assert 0 <= lo <= mid < hi <= n_factors - 1, (lo, mid, hi)
        assert (lo, hi) not in mid_of, f"product {lo}..{hi} split twice"
        mid_of[(lo, hi)] = mid
    # Walk down from the whole product: every product met is split exactly
    # once and its two halves nest inside it, down to single factors.
    visited = 0
    stack = [(0, n_factors - 1)] if n_factors > 1 else []
    while stack:
        lo, hi = stack.pop()
        mid = mid_of[(lo, hi)]
        visited += 1
        for child in ((lo, mid), (mid + 1, hi)):
            if child[0] < child[1]:
                stack.append(child)
    assert visited == len(splits), "some splits are not reachable from the whole product"
    assert sum(dims[hi + 1] * dims[mid + 1] * dims[lo] for lo, mid, hi in splits) == cost
    assert type(cost) is int


# -- against the DP ------------------------------------------------------------------


def chains(low: int, high: int, max_factors: int = 300):
    """Draw chains of 1..max_factors factors, of uniformly drawn length (long ones common)."""
    return st.integers(2, max_factors + 1).flatmap(
        lambda n: st.lists(st.integers(low, high), min_size=n, max_size=n)
    )


# 12 examples of up to 150 factors (the DP oracle is O(n^3)); the _thorough twins (-m slow) run 50 of up to 300
@fewer_examples(12)
@given(chains(1, 3, max_factors=150))
def test_equals_dp_with_many_ties(dims):
    cost, splits = hu_shing(dims)
    check_plan(dims, cost, splits)
    assert cost == dp_cost(dims)


test_equals_dp_with_many_ties_thorough = slow_twin(test_equals_dp_with_many_ties, chains(1, 3), max_examples=50)


@fewer_examples(12)
@given(chains(1, 1000, max_factors=150))
def test_equals_dp_without_ties(dims):
    cost, splits = hu_shing(dims)
    check_plan(dims, cost, splits)
    assert cost == dp_cost(dims)


test_equals_dp_without_ties_thorough = slow_twin(test_equals_dp_without_ties, chains(1, 1000), max_examples=50)

short_chains = st.lists(st.integers(1, 12), min_size=2, max_size=25)


# 25 examples: the structured chains below (3, 4, 5 and 17 factors) and the CLRS table check short chains too;
# the _thorough twin (-m slow) runs the profile's 200
@fewer_examples(25)
@given(short_chains)
def test_equals_dp_on_short_chains(dims):
    cost, splits = hu_shing(dims)
    check_plan(dims, cost, splits)
    assert cost == dp_cost(dims)


test_equals_dp_on_short_chains_thorough = slow_twin(test_equals_dp_on_short_chains, short_chains)


def _structured(n: int) -> dict[str, list[int]]:
    """Return shapes that make deep or wide arc trees: monotone, V, peak, saw, steps."""
    up = list(range(1, n + 1))
    return {
        "increasing": up,
        "decreasing": up[::-1],
        "valley": up[::-1] + up,
        "peak": up + up[::-1],
        "zigzag": [1 + (k % 2) * (k + 5) for k in range(n)],
        "saw": [1 + k % 7 for k in range(n)],
        "staircase": [1 + k // 10 for k in range(n)],
        "squares": [(k % 13 + 1) ** 2 for k in range(n)],
        "min in the middle": [50 + (k * 37) % 101 for k in range(n // 2)]
        + [1]
        + [50 + (k * 53) % 97 for k in range(n // 2)],
    }


@pytest.mark.parametrize("name", list(_structured(4)))
def test_equals_dp_on_structured_chains(name):
    for n in (3, 4, 5, 17, 150):
        dims = _structured(n)[name]
        cost, splits = hu_shing(dims)
        check_plan(dims, cost, splits)
        assert cost == dp_cost(dims), (name, n)


# -- against numpy's multi_dot DP ----------------------------------------------------


@pytest.mark.parametrize(
    "n_factors",
    [100, *(pytest.param(n, marks=pytest.mark.slow) for n in (150, 300, 600))],
)
def test_equals_numpy_multi_dot_order(n_factors):
    dims = np.random.default_rng(n_factors).integers(1, 1001, n_factors + 1).tolist()
    cost, splits = hu_shing(dims)
    check_plan(dims, cost, splits)
    assert cost == numpy_cost(dims)


# -- golden cases, edge cases, exactness ---------------------------------------------


def test_cormen_and_clrs_table():
    cost, splits = hu_shing(CORMEN)
    assert cost == 15125
    check_plan(CORMEN, cost, splits)
    assert hu_shing(CORMEN[::-1])[0] == 15125
    # CLRS Figure 15.5: m[i, j] for the written A_i..A_j (1-based) is the
    # optimum of the sub-chain p_{i-1}..p_j.
    clrs = {
        (1, 2): 15750, (2, 3): 2625, (3, 4): 750, (4, 5): 1000, (5, 6): 5000,
        (1, 3): 7875, (2, 4): 4375, (3, 5): 2500, (4, 6): 3500,
        (1, 4): 9375, (2, 5): 7125, (3, 6): 5375,
        (1, 5): 11875, (2, 6): 10500, (1, 6): 15125,
    }  # fmt: skip
    for (i, j), expected in clrs.items():
        sub = CORMEN[i - 1 : j + 1]
        cost, splits = hu_shing(sub)
        check_plan(sub, cost, splits)
        assert cost == expected, (i, j)


def test_one_and_two_factors():
    assert hu_shing([7, 3]) == (0, [])
    assert hu_shing([2, 3, 4]) == (24, [(0, 0, 1)])
    assert hu_shing(np.array([10, 100, 5, 50])) == (7500, [(0, 1, 2), (0, 0, 1)])


def test_huge_int_dims_are_exact():
    big = 10**30
    dims = [big + 7, 3 * big, big, 2 * big + 1, 5 * big, big + 1]
    cost, splits = hu_shing(dims)
    check_plan(dims, cost, splits)
    assert cost == dp_cost(dims)
    assert hu_shing([big, big, big]) == (big**3, [(0, 0, 1)])
    rng = np.random.default_rng(1)
    for _ in range(20):
        dims = [int(x) * 10**28 + int(y) for x, y in rng.integers(1, 10**4, (40, 2))]
        cost, splits = hu_shing(dims)
        check_plan(dims, cost, splits)
        assert cost == dp_cost(dims)


huge_dims = st.lists(st.integers(1, 10**40), min_size=2, max_size=30)


# 15 examples: test_huge_int_dims_are_exact above checks 20 fixed chains of huge dims; the twin (-m slow) runs 60
@fewer_examples(15)
@given(huge_dims)
def test_equals_dp_on_huge_random_dims(dims):
    cost, splits = hu_shing(dims)
    check_plan(dims, cost, splits)
    assert cost == dp_cost(dims)


test_equals_dp_on_huge_random_dims_thorough = slow_twin(test_equals_dp_on_huge_random_dims, huge_dims, max_examples=60)


@pytest.mark.parametrize("bad", [[], [5], [0, 3], [3, -1, 2], [2.0, 3], [True, 2], "23", 5])
def test_bad_dims_are_refused(bad):
    with pytest.raises(DimensionError):
        hu_shing(bad)


def test_long_chain_without_recursion():
    # 5,000 factors: five times Python's default recursion limit, so a recursive walk would fail here
    rng = np.random.default_rng(7)
    for dims in (
        rng.integers(1, 1001, 5_001).tolist(),
        list(range(1, 5_001)),  # one arc tree as deep as the chain is long
        [1 + (k % 2) * (k + 1) for k in range(5_001)],  # one node with 2,500 children
        rng.integers(1, 4, 5_001).tolist(),
    ):
        cost, splits = hu_shing(dims)
        check_plan(dims, cost, splits)


# -- determinism and the documented tie rule -----------------------------------------


def test_deterministic():
    rng = np.random.default_rng(3)
    for high in (3, 1000):
        dims = rng.integers(1, high + 1, 2001)
        first = hu_shing(dims.tolist())
        for again in (dims, tuple(dims.tolist()), dims.astype(np.uint16), list(dims.tolist())):
            assert hu_shing(again) == first


def test_equal_dims_give_forward_mode():
    for n in (3, 4, 10, 50):
        cost, splits = hu_shing([6] * n)
        assert cost == (n - 2) * 6**3
        assert sorted(splits) == [(0, hi - 1, hi) for hi in range(1, n - 1)]


tied_dims, scales = st.lists(st.integers(1, 4), min_size=2, max_size=40), st.integers(2, 10**20)


# 25 examples; the _thorough twin (-m slow) runs 100
@fewer_examples(25)
@given(tied_dims, scales)
def test_plan_is_scale_invariant(dims, factor):
    cost, splits = hu_shing(dims)
    scaled_cost, scaled_splits = hu_shing([factor * d for d in dims])
    assert scaled_cost == factor**3 * cost
    assert scaled_splits == splits


test_plan_is_scale_invariant_thorough = slow_twin(test_plan_is_scale_invariant, tied_dims, scales, max_examples=100)

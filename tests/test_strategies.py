"""Every strategy against independent oracles.

Oracles: exhaustive enumeration of every bracketing (``brute``), numpy's own
matrix-chain DP (the one ``multi_dot`` uses), the Cormen/CLRS golden case,
the closed forms of the notes, and the published matrix-chain numbers
bundled with Naumann's reference instances (``../shared/naumann-instances``).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given, settings
from hypothesis import strategies as st

import chainopt as co
from chainopt import ChainTooLongError, UnknownStrategyError
from chainopt.core.strategies import BRUTE_MAX_FACTORS, brute, optimal, optimal_cost_table

try:  # numpy >= 2 keeps the helper in numpy.linalg._linalg
    from numpy.linalg._linalg import _multi_dot_matrix_chain_order as numpy_order
except ImportError:  # pragma: no cover - older numpy
    from numpy.linalg.linalg import _multi_dot_matrix_chain_order as numpy_order

CORMEN = [30, 35, 15, 5, 10, 20, 25]
small_dims = st.lists(st.integers(1, 40), min_size=2, max_size=9)
dims_to_30_factors = st.lists(st.integers(1, 200), min_size=3, max_size=31)
notes_rest = st.lists(st.integers(2, 50), min_size=2, max_size=8)
big_dims = st.lists(st.integers(1, 10**9), min_size=3, max_size=7)
NAUMANN = Path(__file__).resolve().parents[1].parent / "shared" / "naumann-instances" / "gdjcpb_bundled"


def numpy_cost_and_splits(dims):
    """numpy's DP on the written order [A_{N-1}, ..., A_1]: its cost and its split table."""
    written = [np.empty((dims[k + 1], dims[k])) for k in range(len(dims) - 1)][::-1]
    splits, costs = numpy_order(written, return_costs=True)
    return int(costs[0, -1]), splits


def test_cormen_golden_case_both_orientations():
    assert optimal(CORMEN).cost == 15125
    assert optimal(CORMEN[::-1]).cost == 15125
    assert brute(CORMEN).cost == 15125
    assert numpy_cost_and_splits(CORMEN)[0] == 15125
    cost, split = optimal_cost_table(CORMEN)
    assert int(cost[0, 5]) == 15125
    # CLRS's table entries m[2,5] = 7125 and m[1,4] = 9375 (1-based, written order):
    # our factors are in layer order, so written A_i..A_j is our lo = 6-j .. hi = 6-i.
    assert int(optimal_cost_table(CORMEN[::-1])[0][1, 4]) == 7125
    assert int(optimal_cost_table(CORMEN[::-1])[0][2, 5]) == 9375


def test_hourglass_and_mlp_examples():
    assert str(optimal([100, 1000, 10, 1000, 100])) == "(A4 A3) (A2 A1)"
    assert optimal([100, 1000, 10, 1000, 100]).cost == 2_100_000
    assert str(optimal([784, 512, 256, 10, 1])) == "((A4 A3) A2) A1"
    assert str(optimal([1, 784, 512, 256, 10])) == "A4 (A3 (A2 A1))"


@pytest.mark.slow
@settings(max_examples=3000)
@given(st.lists(st.integers(1, 40), min_size=2, max_size=7))
def test_optimal_equals_brute_force_on_thousands_of_short_chains(dims):
    assert optimal(dims) == brute(dims)


# 12 examples (up to 8 factors, 429 bracketings each): the Cormen and hourglass cases above, the twin below
# and the 3000-example run (-m slow) check the same equality
@fewer_examples(12)
@given(small_dims)
def test_optimal_equals_brute_force_plan_for_plan(dims):
    best = brute(dims)
    assert optimal(dims) == best  # same plan: the tie rules agree too
    assert best.cost == min(p.cost for p in co.all_plans(dims))


test_optimal_equals_brute_force_plan_for_plan_thorough = slow_twin(
    test_optimal_equals_brute_force_plan_for_plan, small_dims, max_examples=50)


# 25 examples: test_long_chains_agree_with_numpy_and_closed_forms checks a 60-factor chain; the twin (-m slow)
# runs the profile's 200
@fewer_examples(25)
@given(dims_to_30_factors)
def test_optimal_equals_numpys_dp_up_to_30_factors(dims):
    cost, splits = numpy_cost_and_splits(dims)
    plan = optimal(dims)
    assert plan.cost == cost
    # Same tie rule: numpy's split s (written order, 0-based) of the whole product
    # puts s+1 factors on the output side.
    n = len(dims) - 1
    top = next(mid for lo, mid, hi in plan.splits if (lo, hi) == (0, n - 1))
    assert n - 1 - top == int(splits[0, n - 1]) + 1


test_optimal_equals_numpys_dp_up_to_30_factors_thorough = slow_twin(
    test_optimal_equals_numpys_dp_up_to_30_factors, dims_to_30_factors)


# 50 examples: the brute-force equality above (fwd and bwd are among the plans it minimises over) and the
# fixed hourglass and MLP cases check it too
@fewer_examples(50)
@given(small_dims)
def test_optimal_is_no_worse_than_either_pure_mode(dims):
    best = optimal(dims).cost
    assert best <= co.fwd_cost(dims) and best <= co.bwd_cost(dims)


# 20 examples: the Cormen case above checks both orientations on fixed numbers; the twin (-m slow) runs 100
@fewer_examples(20)
@given(small_dims)
def test_reversing_the_chain_swaps_fwd_and_bwd_and_keeps_the_optimum(dims):
    rev = dims[::-1]
    assert co.plan(dims, "fwd").cost == co.plan(rev, "bwd").cost
    assert co.plan(dims, "bwd").cost == co.plan(rev, "fwd").cost
    assert optimal(dims).cost == optimal(rev).cost


test_reversing_the_chain_swaps_fwd_and_bwd_and_keeps_the_optimum_thorough = slow_twin(
    test_reversing_the_chain_swaps_fwd_and_bwd_and_keeps_the_optimum, small_dims, max_examples=100)


# 25 examples: test_experiment_notes_claim checks the claim against brute force on every chain of its quick
# run; the twin (-m slow) runs the profile's 200
@fewer_examples(25)
@given(notes_rest)
def test_notes_claim_holds_when_every_other_dim_is_at_least_2(rest):
    """The notes: "if n_1 = 1, FWD is optimal" (and mirrored) -- true when no other dim is 1."""
    assert co.fwd_cost([1, *rest]) == optimal([1, *rest]).cost
    assert co.bwd_cost([*rest, 1]) == optimal([*rest, 1]).cost


test_notes_claim_holds_when_every_other_dim_is_at_least_2_thorough = slow_twin(
    test_notes_claim_holds_when_every_other_dim_is_at_least_2, notes_rest)


def test_notes_claim_fails_with_another_dim_equal_to_1():
    """The slip in the notes: dims (1, 1, 100, 2) -- FWD 300, optimum (A3 A2) A1 at 202."""
    dims = [1, 1, 100, 2]
    assert co.fwd_cost(dims) == 300
    best = optimal(dims)
    assert best.cost == 202 and str(best) == "(A3 A2) A1"
    mirrored = dims[::-1]
    assert co.bwd_cost(mirrored) == 300 and optimal(mirrored).cost == 202


def test_ties_prefer_fewest_factors_on_the_output_side():
    assert str(optimal([5] * 5)) == "A4 (A3 (A2 A1))"  # uniform: forward mode, as multi_dot


def test_exact_dp_beyond_int64():
    big = [10**7] * 30  # every product 10**21: int64 would wrap
    plan = optimal(big)
    assert plan.cost == 28 * 10**21 and type(plan.cost) is int
    cost, _ = optimal_cost_table(big)
    assert cost.dtype == object and cost[0, 28] == 28 * 10**21
    mixed = [3, 10**7, 2, 10**7, 5, 10**7 + 1]
    assert optimal(mixed) == brute(mixed)
    assert optimal(mixed).cost == min(p.cost for p in co.all_plans(mixed))


def test_int64_is_used_where_the_bound_proves_it_safe():
    cost, _ = optimal_cost_table([1000] * 50)
    assert cost.dtype == np.int64


# 20 examples: test_exact_dp_beyond_int64 above checks fixed big dims against brute force; the twin (-m slow) 100
@fewer_examples(20)
@given(big_dims)
def test_big_dims_exact_against_brute(dims):
    assert optimal(dims).cost == brute(dims).cost


test_big_dims_exact_against_brute_thorough = slow_twin(test_big_dims_exact_against_brute, big_dims, max_examples=100)


# numpy's helper is O(n^3) in pure Python: 60 factors by default, 120 with -m slow
@pytest.mark.parametrize("n", [60, pytest.param(120, marks=pytest.mark.slow)])
def test_long_chains_agree_with_numpy_and_closed_forms(n):
    rng = np.random.default_rng(7)
    dims = rng.integers(1, 500, n + 1).tolist()
    plan = optimal(dims)
    assert plan.cost == numpy_cost_and_splits(dims)[0]
    assert plan.cost <= min(co.fwd_cost(dims), co.bwd_cost(dims))
    assert len(plan.steps) == n - 1


@pytest.mark.skipif(not NAUMANN.exists(), reason="../shared/naumann-instances not beside the repository")
def test_published_matrix_chain_numbers_of_naumanns_instances():
    rows = [json.loads(line) for line in (NAUMANN / "results.jsonl").read_text().splitlines() if line.strip()]
    assert len(rows) >= 10
    for row in rows:
        ref = row["mcp_given_jacobians"]
        dims = ref["dims_input_first"]
        assert co.fwd_cost(dims) == ref["fwd"], row["file"]
        assert co.bwd_cost(dims) == ref["bwd"], row["file"]
        assert optimal(dims).cost == ref["optimal"], row["file"]


@pytest.mark.slow
def test_brute_refuses_long_chains():
    brute([2] * (BRUTE_MAX_FACTORS + 1))  # 12 factors: fine
    with pytest.raises(ChainTooLongError, match="at most 12 factors; this chain has 13.*'optimal'"):
        brute([2] * (BRUTE_MAX_FACTORS + 2))


def _every_bracketing(lo, hi):
    """The bracketings of factors lo..hi as split dicts, by recursion over the outermost split (the oracle)."""
    if lo == hi:
        return [{}]
    return [{**right, **left, (lo, hi): mid} for mid in range(hi - 1, lo - 1, -1)
            for right in _every_bracketing(lo, mid) for left in _every_bracketing(mid + 1, hi)]


@pytest.mark.parametrize("n", range(1, 10))
def test_all_plans_lazy_order_is_the_eager_order(n):
    dims = list(range(2, n + 3))
    assert [p.operations for p in co.all_plans(dims)] == [
        co.Plan(dims, split).operations for split in _every_bracketing(0, n - 1)
    ]


def test_all_plans_counts_are_catalan_numbers():
    for n in range(1, 9):
        assert sum(1 for _ in co.all_plans([2] * (n + 1))) == math.comb(2 * (n - 1), n - 1) // n


@pytest.mark.parametrize("name", ["nope", "forward", "", None, 3])
def test_unknown_strategy_lists_the_valid_ones(name):
    with pytest.raises(UnknownStrategyError, match=r"unknown strategy .*choose one of: fwd, bwd, optimal, brute"):
        co.plan([2, 3, 4], name)


@pytest.mark.parametrize("name", sorted(co.STRATEGIES))
def test_every_strategy_takes_a_chain_or_dims_and_returns_a_plan_for_it(name):
    for dims in ([5, 4], [5, 4, 3], [3, 9, 2, 7, 1, 8]):
        plan = co.STRATEGIES[name](co.Chain(dims))
        assert isinstance(plan, co.Plan) and plan.chain.dims == tuple(dims)
        assert co.plan(dims, name) == plan
        assert len(plan.steps) == len(dims) - 2


def test_dp_refuses_tables_beyond_the_memory_budget():
    from chainopt.core.strategies import dp

    with pytest.raises(co.MemoryBudgetError, match="the optimal-order DP for 3,000 factors .* would need"):
        dp.optimal([2] * 3001, budget=100 * 2**20)
    tables = 26 * 200**2  # 200 factors: 3.25 int64 tables of 200 x 200
    with pytest.raises(co.MemoryBudgetError, match="200 factors .* would need 1,040,000 bytes"):
        dp.optimal([2] * 201, budget=tables - 1)
    assert dp.optimal([2] * 201, budget=tables).cost == 199 * 8  # exactly the tables: within the budget


@pytest.mark.slow
def test_dp_runs_1000_factors_within_100_mib():
    from chainopt.core.strategies import dp

    assert dp.optimal([2] * 1001, budget=100 * 2**20).cost == 999 * 8  # 26 MB of tables: within the budget

"""The generalized Jacobian chain DP against independent oracles and the reference solvers.

Oracles: a brute force over every elimination sequence (written here, from
the model's definition, not from the DP: multi-factor TAN/ADJ eliminations,
ACC by either mode, MULs in every order); today's matrix-chain strategies
(for given dense factors); U. Naumann's bundled instances and the 303 chains
solved by the STCE-at-RWTH/Jacobian-Chaining solver (tests/data/README.md).
"""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.core.chain import bwd_cost, fwd_cost
from chainopt.core.costs import acc_cost, adj_cost, mul_cost, tan_cost
from chainopt.core.factors import Factor, as_factors, read_factors
from chainopt.core.strategies.dp import optimal
from chainopt.core.strategies.generalized import (
    OPS,
    dp_table_bytes,
    generalized_cost_table,
    generalized_dp,
    preaccumulate,
)
from chainopt.core.strategies.pure import bwd, fwd
from chainopt.core.strategies.sweeps import global_adjoint, global_tangent
from chainopt.errors import DimensionError, MemoryBudgetError

DATA = Path(__file__).resolve().parent / "data"
BUNDLED = DATA / "gdjcpb_bundled"
RESULTS = [json.loads(line) for line in (BUNDLED / "results.jsonl").read_text().splitlines()]
STCE = [json.loads(line) for line in (DATA / "stce_repo_configs.jsonl").read_text().splitlines()]

#: The optima printed in shared/naumann-instances/README.md.
README_OPTIMA = {
    "p_3_3.1": 56, "p_10_10.1": 1_344, "p_50_50.1": 71_668, "p_100_100.1": 1_471_636,
    "p_250_250.1": 9_600_070, "p_500_500.1": 149_147_898,
}


def bundled_path(name: str) -> Path:
    return BUNDLED / name if (BUNDLED / name).exists() else BUNDLED / "ex_sec_4" / name


def stce_factors(entry) -> tuple[Factor, ...]:
    return as_factors([
        Factor(n_in=j["n"], n_out=j["m"], tangent=j["tangent_cost"], adjoint=j["adjoint_cost"],
               tape=j["edges"])
        for j in entry["jacobians"]
    ])


# --- the brute-force oracle ----------------------------------------------------------------------


def brute_force(factors, memory_limit=None, *, eliminations=True) -> int:
    """The least cost over EVERY elimination sequence, by memoised search over states.

    A state is the chain as a tuple of blocks ``(lo, hi, accumulated)``: a
    raw (matrix-free, not yet touched) factor is ``(k, k, False)``; an
    accumulated segment ``J_{hi..lo}`` is ``(lo, hi, True)``. Moves: ACC a raw
    factor by tangents or (tape permitting) adjoints; MUL two adjacent
    segments; TAN a segment by the raw factors ``k+1..j`` right after it (any
    number of them at once); ADJ a segment by the raw factors ``i..k`` right
    before it (each tape must fit). Costs from the model's text, not costs.py.
    """
    f = tuple(factors)
    fits = [memory_limit is None or x.tape <= memory_limit for x in f]

    def diag(lo, hi):
        return all(x.diagonal for x in f[lo : hi + 1])

    def acc(x, ok):
        if x.given:
            return 0
        one = 1 if x.diagonal else None
        by_t = x.tangent * (one or x.n_in)
        by_a = x.adjoint * (one or x.n_out)
        return min(by_t, by_a) if ok else by_t

    def mul(a, b):  # b = J_{b.hi..b.lo} on the left (output side), a on the right
        rows, inner, cols = f[b[1]].n_out, f[a[1]].n_out, f[a[0]].n_in
        left, right = diag(*b[:2]), diag(*a[:2])
        if left and right:
            return inner
        if left:
            return inner * cols
        if right:
            return rows * inner
        return rows * inner * cols

    @cache
    def best(state):
        if len(state) == 1 and state[0][2]:
            return 0
        options = []
        for idx, (lo, hi, done) in enumerate(state):
            if not done:
                nxt = (*state[:idx], (lo, hi, True), *state[idx + 1 :])
                options.append(acc(f[lo], fits[lo]) + best(nxt))
        for idx in range(len(state) - 1):
            a, b = state[idx], state[idx + 1]
            if a[2] and b[2]:
                nxt = (*state[:idx], (a[0], b[1], True), *state[idx + 2 :])
                options.append(mul(a, b) + best(nxt))
        if eliminations:
            for idx, (lo, hi, done) in enumerate(state):
                if not done:
                    continue
                # TAN by raw factors state[idx+1 .. idx+r]
                total = 0
                for r in range(idx + 1, len(state)):
                    if state[r][2]:
                        break
                    total += f[state[r][0]].tangent
                    nxt = (*state[:idx], (lo, state[r][0], True), *state[r + 1 :])
                    options.append(f[lo].n_in * total + best(nxt))
                # ADJ by raw factors state[idx-r .. idx-1]
                total = 0
                for r in range(idx - 1, -1, -1):
                    k = state[r][0]
                    if state[r][2] or not fits[k]:
                        break
                    total += f[k].adjoint
                    nxt = (*state[:r], (k, hi, True), *state[idx + 1 :])
                    options.append(f[hi].n_out * total + best(nxt))
        return min(options)

    return best(tuple((k, k, False) for k in range(len(f))))


def tree_cost(factors, nodes, memory_limit=None) -> int:
    """Cost a tree node by node with costs.py, checking that it is a complete, legal tree."""
    f = as_factors(factors)
    q = len(f)
    seen = set()
    total = 0
    stack = [(0, q - 1)]
    while stack:
        lo, hi = stack.pop()
        seen.add((lo, hi))
        op, mid = nodes[(lo, hi)]
        if op == "ACC":
            assert lo == hi == mid
            ok = memory_limit is None or f[lo].tape <= memory_limit
            total += acc_cost(f[lo].n_in, f[lo].n_out, f[lo].tangent, f[lo].adjoint,
                              diagonal=f[lo].diagonal, given=f[lo].given, adjoint_allowed=ok)[0]
        elif op == "MUL":
            assert lo <= mid < hi
            total += mul_cost(f[hi].n_out, f[mid].n_out, f[lo].n_in,
                              left_diagonal=all(x.diagonal for x in f[mid + 1 : hi + 1]),
                              right_diagonal=all(x.diagonal for x in f[lo : mid + 1]))
            stack += [(lo, mid), (mid + 1, hi)]
        elif op == "TAN":
            assert lo <= mid == hi - 1
            total += tan_cost(f[lo].n_in, f[hi].tangent)
            stack.append((lo, hi - 1))
        else:
            assert op == "ADJ" and mid == lo < hi
            assert memory_limit is None or f[lo].tape <= memory_limit
            total += adj_cost(f[hi].n_out, f[lo].adjoint)
            stack.append((lo + 1, hi))
    assert seen == set(nodes), "nodes outside the chosen tree"
    return total


@st.composite
def mixed_chains(draw, max_q=5, max_dim=6, max_cost=40):
    """Chains mixing matrix-free, diagonal and given factors, with a memory limit or None."""
    q = draw(st.integers(1, max_q))
    n = draw(st.integers(1, max_dim))
    fs = []
    for _ in range(q):
        kind = draw(st.sampled_from(["free", "free", "free", "diag", "given", "given-diag"]))
        diagonal = "diag" in kind
        m = n if diagonal else draw(st.integers(1, max_dim))
        tape = draw(st.integers(0, max_cost))
        if kind.startswith("given"):
            costs = draw(st.none() | st.tuples(st.integers(0, max_cost), st.integers(0, max_cost)))
            t, a = costs if costs else (None, None)
            fs.append(Factor(n_in=n, n_out=m, tangent=t, adjoint=a, tape=tape, diagonal=diagonal,
                             given=True))
        else:
            t, a = draw(st.integers(0, max_cost)), draw(st.integers(0, max_cost))
            fs.append(Factor(n_in=n, n_out=m, tangent=t, adjoint=a, tape=tape, diagonal=diagonal))
        n = m
    limit = draw(st.none() | st.integers(0, max_cost))
    return tuple(fs), limit


# 15 examples each: the fixed six-factor case below and the bundled reference instances check the same optimum;
# the _thorough twins (-m slow) run 80
@fewer_examples(15)
@given(mixed_chains())
def test_dp_equals_brute_force_over_every_elimination_sequence(chain):
    fs, limit = chain
    cost, nodes = generalized_dp(fs, memory_limit=limit)
    assert cost == brute_force(fs, limit)
    assert tree_cost(fs, nodes, limit) == cost


test_dp_equals_brute_force_over_every_elimination_sequence_thorough = slow_twin(
    test_dp_equals_brute_force_over_every_elimination_sequence, mixed_chains(), max_examples=80)


@fewer_examples(15)
@given(mixed_chains())
def test_preaccumulate_equals_brute_force_without_eliminations(chain):
    fs, limit = chain
    cost, nodes = preaccumulate(fs, limit)
    assert cost == brute_force(fs, limit, eliminations=False)
    assert tree_cost(fs, nodes, limit) == cost
    assert {op for op, _ in nodes.values()} <= {"ACC", "MUL"}
    assert cost >= generalized_dp(fs, memory_limit=limit)[0]


test_preaccumulate_equals_brute_force_without_eliminations_thorough = slow_twin(
    test_preaccumulate_equals_brute_force_without_eliminations, mixed_chains(), max_examples=80)


def test_dp_equals_brute_force_on_six_factors():
    rng = np.random.default_rng(6)
    for _ in range(12):
        n = int(rng.integers(1, 8))
        fs = []
        for _ in range(6):
            kind = rng.choice(["free", "free", "diag", "given"])
            m = n if kind == "diag" else int(rng.integers(1, 8))
            t, a, e = (int(x) for x in rng.integers(0, 60, 3))
            fs.append(Factor(n_in=n, n_out=m, given=True) if kind == "given" else
                      Factor(n_in=n, n_out=m, tangent=t, adjoint=a, tape=e, diagonal=kind == "diag"))
            n = m
        for limit in (None, 0, 30):
            cost, nodes = generalized_dp(fs, memory_limit=limit)
            assert cost == brute_force(fs, limit) == tree_cost(fs, nodes, limit)


# --- given dense factors: today's matrix-chain problem -------------------------------------------


dense_dims = st.lists(st.integers(1, 30), min_size=2, max_size=9)


# 15 examples: the fixed 200-factor chain below checks the same trees; the _thorough twin (-m slow) runs 60
@fewer_examples(15)
@given(dense_dims)
def test_given_dense_factors_give_todays_trees_and_costs(dims):
    fs = as_factors(dims)
    for mine, theirs in ((generalized_dp(fs), optimal(dims)), (global_tangent(fs), fwd(dims)),
                         (global_adjoint(fs), bwd(dims)), (preaccumulate(fs), optimal(dims))):
        cost, nodes = mine
        assert cost == theirs.cost
        muls = {(lo, hi): mid for (lo, hi), (op, mid) in nodes.items() if lo != hi}
        assert all(nodes[key][0] == "MUL" for key in muls)
        assert muls == {(lo, hi): mid for lo, mid, hi in theirs.splits}
        assert all(nodes[(k, k)] == ("ACC", k) for k in range(len(dims) - 1))
    assert global_tangent(fs)[0] == fwd_cost(dims) and global_adjoint(fs)[0] == bwd_cost(dims)


test_given_dense_factors_give_todays_trees_and_costs_thorough = slow_twin(
    test_given_dense_factors_give_todays_trees_and_costs, dense_dims, max_examples=60)


def test_given_dense_chain_of_200_factors_matches_todays_optimal():
    dims = [int(x) for x in np.random.default_rng(200).integers(1, 300, 201)]
    cost, nodes = generalized_dp(dims)
    plan = optimal(dims)
    assert cost == plan.cost
    assert {key: mid for key, (op, mid) in nodes.items() if op == "MUL"} == {
        (lo, hi): mid for lo, mid, hi in plan.splits}


# --- Naumann's bundled instances -----------------------------------------------------------------


# the 500-factor instance (a quarter of a second for its DP alone) runs with -m slow
@pytest.mark.parametrize(
    "entry", [pytest.param(r, marks=[pytest.mark.slow] if r["file"].endswith("/p_500_500.1") else []) for r in RESULTS],
    ids=[r["file"] for r in RESULTS])
def test_bundled_instances(entry):
    fs = read_factors(bundled_path(entry["file"]))
    ref = entry["gdjcpb_solve"]
    cost, nodes = generalized_dp(fs)
    assert cost == ref["optimal_cost"] == entry["stce_dp"]["mf_dp_cost"]
    assert tree_cost(fs, nodes) == cost
    name = entry["file"].split("/")[-1]
    if name in README_OPTIMA:
        assert cost == README_OPTIMA[name]
    assert global_tangent(fs)[0] == ref["homogeneous_tangent"] == fs[0].n_in * sum(f.tangent for f in fs)
    assert global_adjoint(fs)[0] == ref["homogeneous_adjoint"] == fs[-1].n_out * sum(f.adjoint for f in fs)
    # preaccumulation: printed as [ACC total, MUL total, sum]; the reference solver's ACC
    # total (so the sum) wraps at 2**32 on p_500_500.1 (its README): compare modulo 2**32
    acc_total, mul_total, total = ref["preaccumulation_printed"]
    pre = preaccumulate(fs)[0]
    accs = sum(acc_cost(f.n_in, f.n_out, f.tangent, f.adjoint)[0] for f in fs)
    assert mul_total == entry["mcp_given_jacobians"]["optimal"] == pre - accs
    assert pre == entry["stce_dp"]["dense_dp_cost"]
    assert (accs % 2**32, pre % 2**32) == (acc_total, total)
    assert (pre == total) is not entry["preaccumulation_overflow_in_gdjcpb"]
    if name == "p_500_500.1":
        assert (pre, total) == (18_207_565_409, 1_027_696_225)
    for lim in entry["stce_dp"]["limited_memory"]:
        assert generalized_dp(fs, memory_limit=lim["available_memory"])[0] == lim["dp_cost"]


# --- the STCE chains -----------------------------------------------------------------------------


def _check_stce_chains(entries):
    checked = 0
    for entry in entries:
        fs = stce_factors(entry)
        assert generalized_dp(fs)[0] == entry["mf_dp_cost"], entry["index"]
        assert global_tangent(fs)[0] == entry["global_tangent_cost"], entry["index"]
        assert global_adjoint(fs)[0] == entry["global_adjoint_cost"], entry["index"]
        assert preaccumulate(fs)[0] == entry["dense_dp_cost"], entry["index"]
        checked += 4
        for lim in entry["limited_memory"]:
            # the STCE solver reads available_memory == 0 as unlimited
            limit = lim["available_memory"] or None
            assert generalized_dp(fs, memory_limit=limit)[0] == lim["dp_cost"], entry["index"]
            checked += 1
    return checked


def test_stce_chains_reference_values_on_a_subset():
    """The three worked examples and every 5th batch chain (63 of 303); -m slow: all."""
    batch = [e for e in STCE if e["config_note"].startswith("config_batch")]
    assert _check_stce_chains([e for e in STCE if e not in batch] + batch[::5]) == 63 * 7


@pytest.mark.slow
def test_stce_chains_every_reference_value():
    assert _check_stce_chains(STCE) == 303 * 7


# --- the memory limit ----------------------------------------------------------------------------


# 15 examples: test_bundled_instances and the STCE chains check limited-memory optima against the reference
# solver; the _thorough twin (-m slow) runs 40
@fewer_examples(15)
@given(mixed_chains(max_q=6))
def test_memory_limit_only_ever_costs_more(chain):
    fs, _ = chain
    limits = sorted({f.tape for f in fs} | {0})
    costs = [generalized_dp(fs, memory_limit=m)[0] for m in limits]
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] == generalized_dp(fs)[0]
    for m in limits:
        nodes = generalized_dp(fs, memory_limit=m)[1]
        for (lo, _hi), (op, _mid) in nodes.items():
            if op == "ADJ":
                assert fs[lo].tape <= m


test_memory_limit_only_ever_costs_more_thorough = slow_twin(
    test_memory_limit_only_ever_costs_more, mixed_chains(max_q=6), max_examples=40)


def test_sweeps_with_memory_limit_and_mixtures():
    fs = (Factor(n_in=4, n_out=4, tangent=3, adjoint=5, tape=9, diagonal=True),
          Factor(n_in=4, n_out=2, given=True),
          Factor(n_in=2, n_out=3, tangent=7, adjoint=11, tape=20))
    # tangent: ACC F_1 by one direction (3), MUL with given F_2 (right operand diagonal:
    # 2 * 4 = 8, its TAN would cost 4 * 8 = 32), TAN F_3 (4 * 7)
    assert global_tangent(fs) == (3 + 8 + 28, {(0, 0): ("ACC", 0), (0, 1): ("MUL", 0),
                                               (1, 1): ("ACC", 1), (0, 2): ("TAN", 1)})
    # adjoint: ACC F_3 by 3 adjoints (33), MUL (3x2 @ 2x4 = 24 = its ADJ, MUL wins), ADJ F_1
    assert global_adjoint(fs) == (33 + 24 + 15, {(2, 2): ("ACC", 2), (1, 2): ("MUL", 1),
                                                 (1, 1): ("ACC", 1), (0, 2): ("ADJ", 0)})
    assert global_adjoint(fs, 20)[0] == 72
    with pytest.raises(MemoryBudgetError, match="F_3's tape of 20"):
        global_adjoint(fs, 19)
    assert global_tangent(fs, 0) == global_tangent(fs)
    # a given factor with a cheap adjoint is applied by ADJ; over the limit, by MUL
    cheap = (Factor(n_in=3, n_out=5, tangent=1, adjoint=1, tape=4, given=True),
             Factor(n_in=5, n_out=2, tangent=9, adjoint=9, tape=0))
    assert global_adjoint(cheap)[1][(0, 1)] == ("ADJ", 0)
    assert global_adjoint(cheap, 3)[1][(0, 1)] == ("MUL", 0)
    assert global_tangent(cheap)[1][(0, 1)] == ("TAN", 0)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_memory_limit(bad):
    for fn in (generalized_dp, preaccumulate, global_tangent, global_adjoint):
        with pytest.raises(DimensionError, match="memory_limit"):
            if fn is generalized_dp:
                fn([2, 3], memory_limit=bad)
            else:
                fn([2, 3], bad)


# --- the vectorised formulas, the int64 and exact paths, the budget ------------------------------


def reference_table(fs, limit):
    """The DP's recurrence entry by entry with costs.py (scalar Python, exact)."""
    q = len(fs)
    cost = {}
    for length in range(q):
        for lo in range(q - length):
            hi = lo + length
            f = fs[lo]
            ok = limit is None or f.tape <= limit
            if lo == hi:
                cost[lo, hi] = acc_cost(f.n_in, f.n_out, f.tangent, f.adjoint, diagonal=f.diagonal,
                                        given=f.given, adjoint_allowed=ok)[0]
                continue
            options = [
                cost[lo, mid] + cost[mid + 1, hi]
                + mul_cost(fs[hi].n_out, fs[mid].n_out, f.n_in,
                           left_diagonal=all(x.diagonal for x in fs[mid + 1 : hi + 1]),
                           right_diagonal=all(x.diagonal for x in fs[lo : mid + 1]))
                for mid in range(hi - 1, lo - 1, -1)
            ]
            options.append(cost[lo, hi - 1] + tan_cost(f.n_in, fs[hi].tangent))
            if ok:
                options.append(cost[lo + 1, hi] + adj_cost(fs[hi].n_out, f.adjoint))
            cost[lo, hi] = min(options)
    return cost


# 12 examples: test_huge_sizes_take_the_exact_path checks a fixed chain; the _thorough twin (-m slow) runs 30
@fewer_examples(12)
@given(mixed_chains(max_q=9, max_dim=30, max_cost=2000))
def test_vectorised_formulas_agree_with_costs_py(chain):
    fs, limit = chain
    ref = reference_table(fs, limit)
    cost, op, mid = generalized_cost_table(fs, memory_limit=limit)
    exact, op_x, mid_x = generalized_cost_table(fs, memory_limit=limit, exact=True)
    assert cost.dtype == np.int64 and exact.dtype == object
    assert {key: int(cost[key]) for key in ref} == ref
    assert {key: exact[key] for key in ref} == ref
    assert (op == op_x).all() and (mid == mid_x).all()
    for (lo, hi) in ref:  # each entry is its own tree: the tree from (lo, hi) costs cost[lo, hi]
        nodes, stack = {}, [(lo, hi)]
        while stack:
            a, b = stack.pop()
            name, k = OPS[op[a, b]], int(mid[a, b])
            nodes[(a - lo, b - lo)] = (name, k - lo)
            stack += {"MUL": [(a, k), (k + 1, b)], "TAN": [(a, b - 1)], "ADJ": [(a + 1, b)]}.get(name, [])
        assert tree_cost(fs[lo : hi + 1], nodes, limit) == ref[lo, hi]


test_vectorised_formulas_agree_with_costs_py_thorough = slow_twin(
    test_vectorised_formulas_agree_with_costs_py, mixed_chains(max_q=9, max_dim=30, max_cost=2000), max_examples=30)


def test_huge_sizes_take_the_exact_path():
    big = 10**7
    fs = (Factor(n_in=big, n_out=big + 1, tangent=big**2, adjoint=3 * big**2),
          Factor(n_in=big + 1, n_out=big, given=True),
          Factor(n_in=big, n_out=big, tangent=5, adjoint=5, tape=1, diagonal=True),
          Factor(n_in=big, n_out=2 * big, tangent=big**2 + 7, adjoint=big**2, tape=big))
    cost = generalized_cost_table(fs)[0]
    assert cost.dtype == object and cost[0, 3] > 2**63
    ref = reference_table(fs, None)
    assert {key: cost[key] for key in ref} == ref
    dp_cost, nodes = generalized_dp(fs)
    assert dp_cost == ref[0, 3] == brute_force(fs) == tree_cost(fs, nodes)
    assert type(dp_cost) is int


def test_budget_is_checked_before_allocating():
    fs = as_factors(list(range(1, 3002)))
    with pytest.raises(MemoryBudgetError, match="3,000 factors"):
        generalized_dp(fs, budget=10**6)
    with pytest.raises(MemoryBudgetError):
        generalized_cost_table(fs, budget=dp_table_bytes(3000, table=True) - 1)
    assert generalized_dp(fs[:50], budget=dp_table_bytes(50))[0] == optimal(list(range(1, 52))).cost
    assert dp_table_bytes(100, exact=True) > dp_table_bytes(100, diagonal=True) > dp_table_bytes(100)


def test_single_factor_and_cost_table_layout():
    f = Factor(n_in=3, n_out=2, tangent=4, adjoint=5, tape=9)
    assert generalized_dp([f]) == (10, {(0, 0): ("ACC", 0)})  # min(3*4, 2*5)
    assert generalized_dp([f], memory_limit=8) == (12, {(0, 0): ("ACC", 0)})
    assert global_tangent([f]) == (12, {(0, 0): ("ACC", 0)})
    assert global_adjoint([f]) == (10, {(0, 0): ("ACC", 0)})
    cost, op, mid = generalized_cost_table([4, 5, 6, 7])
    assert cost.shape == op.shape == mid.shape == (3, 3)
    assert cost[1, 0] == 0 and (op[np.tril_indices(3)] == 0).all()
    assert [OPS[o] for o in op[0]] == ["ACC", "MUL", "MUL"]


def test_ties_mul_then_tan_then_adj():
    # given dense: TAN and ADJ cost what MUL costs; MUL wins
    assert {op for op, _ in generalized_dp([3, 3, 3, 3])[1].values()} == {"ACC", "MUL"}
    # two matrix-free 1x1 factors, ACC 2 each:
    fs = [Factor(n_in=1, n_out=1, tangent=2, adjoint=2, tape=0)] * 2
    # MUL: 2 + 2 + 1 = 5; TAN: 2 + 2 = 4; ADJ: 2 + 2 = 4 -> TAN (before ADJ)
    assert generalized_dp(fs) == (4, {(0, 1): ("TAN", 0), (0, 0): ("ACC", 0)})
    fs = [Factor(n_in=1, n_out=1, tangent=3, adjoint=2, tape=0)] * 2
    assert generalized_dp(fs)[1][(0, 1)] == ("ADJ", 0)  # ADJ strictly cheaper: 2 + 2 < 2 + 3

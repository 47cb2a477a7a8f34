"""Scheduled Jacobian chaining: the makespan DP, the schedules, the branch and bound.

Reference data (tests/data, see its README): the STCE-at-RWTH/Jacobian-Chaining
solver's makespans of 303 chains, and the ACDA'25 published results, whose
chains are regenerated here from the reference generator (mt19937_64, seed
4711, libstdc++ distributions; checked against the 300 stored batch chains).
"""

import csv
import itertools
import json
from collections import Counter, namedtuple
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.core import costs
from chainopt.core.strategies.makespan import (
    MachineCountError,
    ScheduledOp,
    makespan_dp,
)
from chainopt.core.strategies.makespan_bnb import makespan_bnb
from chainopt.core.strategies.schedule import schedule
from chainopt.errors import ChainoptError, DimensionError

DATA = Path(__file__).parent / "data"
F = namedtuple("F", "n_in n_out tangent adjoint tape diagonal given")


def factors_of(jacobians):
    return [F(j["n"], j["m"], j["tangent_cost"], j["adjoint_cost"], j["edges"], False, False)
            for j in jacobians]


@cache
def stce_rows():
    with open(DATA / "stce_repo_configs.jsonl") as fh:
        return [json.loads(line) for line in fh]


def machines_of(entry):
    return None if entry["machines"] == "unlimited" else entry["machines"]


# --------------------------------------------------------------------------- oracles


def node_cost(fs, op, lo, mid, hi, memory_limit=None):
    """One node's cost, straight from the cost model."""
    if op == "ACC":
        f = fs[lo]
        ok = memory_limit is None or f.tape <= memory_limit
        return costs.acc_cost(f.n_in, f.n_out, f.tangent, f.adjoint, diagonal=f.diagonal,
                              given=f.given, adjoint_allowed=ok)[0]
    if op == "MUL":
        return costs.mul_cost(fs[hi].n_out, fs[mid].n_out, fs[lo].n_in,
                              left_diagonal=all(f.diagonal for f in fs[mid + 1:hi + 1]),
                              right_diagonal=all(f.diagonal for f in fs[lo:mid + 1]))
    if op == "TAN":
        return costs.tan_cost(fs[lo].n_in, fs[hi].tangent)
    return costs.adj_cost(fs[hi].n_out, fs[lo].adjoint)


def all_trees(fs, lo, hi, memory_limit=None):
    """Every tree for J_{hi..lo}: lists of (op, lo, mid, hi), children before parents."""
    if lo == hi:
        return [[("ACC", lo, lo, lo)]]
    out = []
    for mid in range(lo, hi):
        for up in all_trees(fs, mid + 1, hi, memory_limit):
            for low in all_trees(fs, lo, mid, memory_limit):
                out.append(up + low + [("MUL", lo, mid, hi)])
    for sub in all_trees(fs, lo, hi - 1, memory_limit):
        out.append(sub + [("TAN", lo, hi - 1, hi)])
    if memory_limit is None or fs[lo].tape <= memory_limit:
        for sub in all_trees(fs, lo + 1, hi, memory_limit):
            out.append(sub + [("ADJ", lo, lo, hi)])
    return out


def sequential_oracle(fs, memory_limit=None):
    """Brute force over all elimination trees: the cheapest total cost."""
    return min(sum(node_cost(fs, *n, memory_limit) for n in tree)
               for tree in all_trees(fs, 0, len(fs) - 1, memory_limit))


def kids(op, lo, mid, hi):
    return {"ACC": [], "MUL": [(lo, mid), (mid + 1, hi)], "TAN": [(lo, hi - 1)],
            "ADJ": [(lo + 1, hi)]}[op]


def best_schedule_of_tree(fs, tree, machines):
    """Exhaustive: the shortest makespan of one tree on `machines` machines (semi-active)."""
    cost = {(lo, hi): node_cost(fs, op, lo, mid, hi) for op, lo, mid, hi in tree}
    deps = {(lo, hi): kids(op, lo, mid, hi) for op, lo, mid, hi in tree}
    best = [sum(cost.values())]

    def go(ends, loads):
        if len(ends) == len(cost):
            best[0] = min(best[0], max(ends.values()))
            return
        if max(loads) >= best[0]:
            return
        for key, c in cost.items():
            if key in ends or any(d not in ends for d in deps[key]):
                continue
            ready = max((ends[d] for d in deps[key]), default=0)
            for w in range(len(loads)):
                if loads[w] in loads[:w]:  # machines free at the same time are alike
                    continue
                start = max(loads[w], ready)
                ends[key] = start + c
                go(ends, loads[:w] + (ends[key],) + loads[w + 1:])
                del ends[key]

    go({}, (0,) * machines)
    return best[0]


def exhaustive_makespan(fs, machines):
    return min(best_schedule_of_tree(fs, tree, machines) for tree in all_trees(fs, 0, len(fs) - 1))


def check_schedule(fs, nodes, ops, machines, memory_limit=None):
    """Valid: every tree node once, its cost, precedence, one op per worker at a time."""
    assert all(isinstance(o, ScheduledOp) for o in ops)
    by_range = {(o.lo, o.hi): o for o in ops}
    assert len(by_range) == len(ops)
    assert (0, len(fs) - 1) in by_range
    for o in ops:
        assert nodes[o.lo, o.hi] == (o.op, o.mid)
        assert o.cost == node_cost(fs, o.op, o.lo, o.mid, o.hi, memory_limit) == o.end - o.start
        for d in kids(o.op, o.lo, o.mid, o.hi):
            assert by_range[d].end <= o.start
        assert o.worker >= 0 and (machines is None or o.worker < machines)
    for w in {o.worker for o in ops}:
        mine = sorted((o.start, o.end) for o in ops if o.worker == w)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(mine))
    return max(o.end for o in ops)


# --------------------------------------------------------------------------- reference data


def _dp_against_reference(rows):
    """The DP's makespan and schedule on ``rows``, every machine count (2.., 'unlimited'): counts per count."""
    matched, total = Counter(), Counter()
    for row in rows:
        fs = factors_of(row["jacobians"])
        for entry in row["scheduled"]:
            machines = machines_of(entry)
            value, nodes = makespan_dp(fs, machines)
            total[entry["machines"]] += 1
            matched[entry["machines"]] += value == entry["dp_makespan"]
            ops = schedule(fs, nodes, machines)
            assert check_schedule(fs, nodes, ops, machines) == value
    assert matched == total
    return total


def test_dp_reproduces_the_reference_makespans_on_a_subset():
    """The three worked examples and every 10th batch chain (33 of 303), every machine count; -m slow: all."""
    rows = stce_rows()
    batch = [r for r in rows if r["config_note"].startswith("config_batch")]
    total = _dp_against_reference([r for r in rows if r not in batch] + batch[::10])
    assert total == {2: 33, 3: 33, 4: 22, 5: 11, 6: 1, "unlimited": 33}


@pytest.mark.slow
def test_dp_reproduces_every_reference_makespan():
    """All 303 chains, every machine count (2.., 'unlimited'): the DP's makespan and schedule."""
    total = _dp_against_reference(stce_rows())
    assert total == {2: 303, 3: 303, 4: 202, 5: 101, 6: 1, "unlimited": 303}


def _one_machine_against_reference(rows):
    for row in rows:
        fs = factors_of(row["jacobians"])
        value, nodes = makespan_dp(fs, 1)
        assert value == row["mf_dp_cost"]
        ops = schedule(fs, nodes, 1)
        assert check_schedule(fs, nodes, ops, 1) == value == sum(o.cost for o in ops)
        assert makespan_bnb(fs, 1)[0] == value


def test_one_machine_is_the_matrix_free_optimum():
    """The three worked examples and every 5th batch chain (63 of 303); -m slow: all."""
    rows = stce_rows()
    batch = [r for r in rows if r["config_note"].startswith("config_batch")]
    _one_machine_against_reference([r for r in rows if r not in batch] + batch[::5])


@pytest.mark.slow
def test_one_machine_is_the_matrix_free_optimum_on_every_reference_chain():
    _one_machine_against_reference(stce_rows())


def _bnb_against_reference(rows):
    ratios = []
    for row in rows:
        fs = factors_of(row["jacobians"])
        for entry in row["scheduled"]:
            if "bnb_makespan" not in entry:
                continue
            value, _, finished = makespan_bnb(fs, entry["machines"], time_limit=60)
            assert finished
            assert value == entry["bnb_makespan"]
            assert value <= makespan_dp(fs, entry["machines"])[0]
            ratios.append(entry["dp_makespan"] / value)
    return ratios


def test_bnb_matches_the_reference_on_a_subset():
    """Two worked examples and every 14th batch chain: 72 of the 910 branch-and-bound makespans; -m slow: all."""
    rows = stce_rows()
    assert len(_bnb_against_reference(rows[1:3] + rows[3::14])) == 72


@pytest.mark.slow
def test_bnb_matches_the_reference_everywhere():
    """All 303 chains (q = 11 included); the DP is at most 1.3206x the optimum there."""
    ratios = _bnb_against_reference(stce_rows())
    assert len(ratios) == 910
    assert max(ratios) == pytest.approx(125199 / 94806)


# ACDA'25: regenerate the chains with the reference generator --------------------------


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mt19937_64(seed, count):
    """``count`` outputs of std::mt19937_64 (numpy, one twist of 312 words at a time)."""
    n, m = 312, 156
    upper, lower = np.uint64(0xFFFFFFFF80000000), np.uint64(0x7FFFFFFF)
    mat, one, zero = np.uint64(0xB5026F5AA96619E9), np.uint64(1), np.uint64(0)
    state = [seed]
    for i in range(1, n):
        state.append((6364136223846793005 * (state[-1] ^ (state[-1] >> 62)) + i) % (1 << 64))
    mt = np.array(state, dtype=np.uint64)
    out = []
    for _ in range(-(-count // n)):
        x = (mt[:n - m] & upper) | (mt[1:n - m + 1] & lower)
        mt[:n - m] = mt[m:] ^ (x >> one) ^ np.where(x & one, mat, zero)
        x = (mt[n - m:n - 1] & upper) | (mt[n - m + 1:] & lower)
        mt[n - m:n - 1] = mt[:m - 1] ^ (x >> one) ^ np.where(x & one, mat, zero)
        x = (mt[n - 1] & upper) | (mt[0] & lower)
        mt[n - 1] = mt[m - 1] ^ (x >> one) ^ (mat if int(x) & 1 else zero)
        y = mt.copy()
        y ^= (y >> np.uint64(29)) & np.uint64(0x5555555555555555)
        y ^= (y << np.uint64(17)) & np.uint64(0x71D67FFFEDA60000)
        y ^= (y << np.uint64(37)) & np.uint64(0xFFF7EEE000000000)
        y ^= y >> np.uint64(43)
        out.append(y)
    return np.concatenate(out)[:count]


def _uniform_int(word, low, high):
    """libstdc++'s uniform_int_distribution on a 64-bit engine (Lemire; no rejection here)."""
    span = high - low + 1
    product = int(word) * span
    assert product % (1 << 64) >= span  # the rare rejection branch would shift the stream
    return low + (product >> 64)


class ReferenceGenerator:
    """jcdp::JacobianChainGenerator: 8 engine draws per factor (n, m, 3 densities, |E|, t, a).

    ``n`` is drawn for every factor (``value_or`` evaluates its argument) but
    only the first factor's is used; t = a = |E| (factor ranges 1.0).
    """

    def __init__(self, seed, lengths, amount, size_range, dag_range, last_rows):
        self.lengths, self.amount = lengths, amount
        self.size_range, self.dag_range = size_range, dag_range
        self.offsets = {}
        offset = 0
        for length in lengths:
            self.offsets[length] = offset
            offset += amount * 8 * length
        words = self.offsets[lengths[-1]] + last_rows * 8 * lengths[-1]
        self.words = _mt19937_64(seed, words)

    def chain(self, length, row):
        base = self.offsets[length] + row * 8 * length
        fs, previous = [], None
        for k in range(length):
            w = self.words[base + 8 * k: base + 8 * k + 8]
            n = _uniform_int(w[0], *self.size_range) if previous is None else previous
            m = _uniform_int(w[1], *self.size_range)
            e = _uniform_int(w[5], *self.dag_range)
            fs.append(F(n, m, e, e, e, False, False))
            previous = m
        return fs


def test_generator_reproduces_the_stored_batch_chains():
    gen = ReferenceGenerator(4711, [3, 4, 5], 100, (5, 50), (1000, 10000), 100)
    batch = [r for r in stce_rows() if r["config_note"].startswith("config_batch")]
    assert len(batch) == 300
    for i, row in enumerate(batch):
        assert gen.chain(row["length"], i % 100) == factors_of(row["jacobians"])


@cache
def acda_rows():
    with open(DATA / "acda25_published_results_first200.csv") as fh:
        return list(csv.DictReader(fh))


def _check_acda(max_length, rows_per_length, time_limit):
    gen = ReferenceGenerator(4711, list(range(1, max_length + 1)), 10000, (5, 50),
                             (1000, 10000), 200)
    seen = Counter()
    for r in acda_rows():
        length, row, machines = int(r["length"]), int(r["row"]), int(r["machines"])
        if length > max_length or row >= rows_per_length:
            continue
        fs = gen.chain(length, row)
        dp = makespan_dp(fs, machines)[0]
        assert dp == int(r["DP"]), r
        seen["DP"] += 1
        if machines == 1:
            assert {int(r[c]) for c in ("BnB_BnB", "BnB_List", "DP", "DP_BnB")} == {dp}
        assert int(r["BnB_BnB"]) <= int(r["DP_BnB"]) <= dp
        if r["BnB_BnB_finished"] == "true":
            value, _, finished = makespan_bnb(fs, machines, time_limit=time_limit)
            if finished:
                assert value == int(r["BnB_BnB"]), r
                assert value <= int(r["BnB_List"])
                seen["BnB"] += 1
    return seen


def test_acda25_published_results_short_chains():
    """Lengths 1..4, rows 0..5: 60 DP makespans and 60 finished BnBs; -m slow: lengths 1..6, every row."""
    seen = _check_acda(4, 6, 30)
    assert seen == {"DP": 6 * 10, "BnB": 6 * 10}


@pytest.mark.slow
def test_acda25_published_results_up_to_length_6():
    """Lengths 1..6, rows 0..199: 4200 DP makespans, every finished BnB (all but 4)."""
    seen = _check_acda(6, 200, 120)
    assert seen == {"DP": 4200, "BnB": 4196}


# --------------------------------------------------------------------------- random chains


def chains(max_q=5, with_flags=True):
    dims = st.integers(1, 9)
    per_factor = st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40),
                           st.booleans() if with_flags else st.just(False),
                           st.booleans() if with_flags else st.just(False))

    @st.composite
    def build(draw):
        q = draw(st.integers(1, max_q))
        d = draw(st.lists(dims, min_size=q + 1, max_size=q + 1))
        out = []
        for k in range(q):
            t, a, tape, diag, giv = draw(per_factor)
            if diag:  # a diagonal factor is square
                d[k + 1] = d[k]
            out.append(F(d[k], d[k + 1], t, a, tape, diag, giv))
        return out

    return build()


MEMORY_LIMITS = st.one_of(st.none(), st.integers(0, 40))


# 20 examples: the 303 reference chains (test_one_machine_is_the_matrix_free_optimum) check the same optimum;
# the _thorough twin (-m slow) runs 100
@fewer_examples(20)
@given(chains(), MEMORY_LIMITS)
def test_one_machine_is_the_sequential_optimum(fs, memory_limit):
    value, nodes = makespan_dp(fs, 1, memory_limit=memory_limit)
    assert value == sequential_oracle(fs, memory_limit)
    ops = schedule(fs, nodes, 1, memory_limit=memory_limit)
    assert check_schedule(fs, nodes, ops, 1, memory_limit) == value


test_one_machine_is_the_sequential_optimum_thorough = slow_twin(
    test_one_machine_is_the_sequential_optimum, chains(), MEMORY_LIMITS, max_examples=100)

MACHINES = st.one_of(st.none(), st.integers(1, 6))


# 20 examples: the reference makespans above (33 chains by default, all 303 under -m slow) check the same
# schedules on fixed chains, every machine count; the _thorough twin (-m slow) runs 100
@fewer_examples(20)
@given(chains(), MACHINES, MEMORY_LIMITS)
def test_schedules_are_valid(fs, machines, memory_limit):
    value, nodes = makespan_dp(fs, machines, memory_limit=memory_limit)
    ops = schedule(fs, nodes, machines, memory_limit=memory_limit)
    assert check_schedule(fs, nodes, ops, machines, memory_limit) == value
    listed = schedule(fs, nodes, machines, memory_limit=memory_limit, policy="list")
    check_schedule(fs, nodes, listed, machines, memory_limit)
    # unlimited machines: the critical path, the least over any machine count
    assert makespan_dp(fs, None, memory_limit=memory_limit)[0] <= value


test_schedules_are_valid_thorough = slow_twin(test_schedules_are_valid, chains(), MACHINES, MEMORY_LIMITS,
                                              max_examples=100)


# 20 examples: the exhaustive enumerations below (tiny chains, four reference chains) and the reference
# makespans above check the branch and bound against independent values; the _thorough twin (-m slow) runs 60
@fewer_examples(20)
@given(chains(), st.integers(2, 4))
def test_bnb_never_worse_than_dp(fs, machines):
    dp = makespan_dp(fs, machines)[0]
    value, nodes, finished = makespan_bnb(fs, machines)
    assert finished
    assert makespan_dp(fs, None)[0] <= value <= dp
    # its tree is a tree of the chain and at least as long as its critical path
    ops = schedule(fs, nodes, None)
    assert check_schedule(fs, nodes, ops, None) <= value
    assert value >= -(-sequential_oracle(fs) // machines)


test_bnb_never_worse_than_dp_thorough = slow_twin(test_bnb_never_worse_than_dp, chains(), st.integers(2, 4),
                                                  max_examples=60)


# 20 examples: the four reference chains below check the same equality; the _thorough twin (-m slow) runs 100
@fewer_examples(20)
@given(chains(max_q=3), st.integers(2, 3))
def test_bnb_is_exhaustive_enumeration_on_tiny_chains(fs, machines):
    assert makespan_bnb(fs, machines)[0] == exhaustive_makespan(fs, machines)


test_bnb_is_exhaustive_enumeration_on_tiny_chains_thorough = slow_twin(
    test_bnb_is_exhaustive_enumeration_on_tiny_chains, chains(max_q=3), st.integers(2, 3), max_examples=100)


@pytest.mark.parametrize("row", [3, 110, 161, 200])
def test_bnb_is_exhaustive_enumeration_on_reference_chains(row):
    fs = factors_of(stce_rows()[row]["jacobians"])[:4]
    assert makespan_bnb(fs, 2)[0] == exhaustive_makespan(fs, 2)


def test_dp_is_not_optimal_between_one_and_q_machines():
    """Config_batch q=4 row 158 on 3 machines: DP 125199, optimum 94806 (the worst, 1.32x)."""
    row = stce_rows()[161]
    fs = factors_of(row["jacobians"])
    assert makespan_dp(fs, 3)[0] == 125199
    value, nodes, finished = makespan_bnb(fs, 3)
    assert (value, finished) == (94806, True)
    # the optimal tree, scheduled series-parallel, does not reach the optimum
    assert max(o.end for o in schedule(fs, nodes, 3)) >= value


# --------------------------------------------------------------------------- the API


def test_multi_factor_eliminations_are_single_factor_nodes():
    """config.in (q=11): the reference's tree is ACC 10 then one ADJ over 0..9."""
    fs = factors_of(stce_rows()[0]["jacobians"])
    value, nodes = makespan_dp(fs, 1)
    assert value == 42271152
    assert nodes == {(10, 10): ("ACC", 10), **{(lo, 10): ("ADJ", lo) for lo in range(10)}}


def test_more_machines_than_factors_is_unlimited():
    fs = factors_of(stce_rows()[0]["jacobians"])
    assert makespan_dp(fs, 11)[0] == makespan_dp(fs, 50)[0] == makespan_dp(fs, None)[0]


@pytest.mark.parametrize("bad", [0, -1, 2.0, "2", True, [2]])
def test_machines_must_be_a_positive_int(bad):
    fs = factors_of(stce_rows()[1]["jacobians"])
    for call in (lambda: makespan_dp(fs, bad), lambda: makespan_bnb(fs, bad),
                 lambda: schedule(fs, {(0, 0): ("ACC", 0)}, bad)):
        with pytest.raises(MachineCountError, match=repr(bad) if bad != 0 else "got 0"):
            call()
    assert issubclass(MachineCountError, ChainoptError)


def test_bad_chains_and_trees():
    with pytest.raises(DimensionError):
        makespan_dp([], 2)
    with pytest.raises(DimensionError, match="R\\^3"):
        makespan_dp([F(2, 3, 1, 1, 1, False, False), F(4, 2, 1, 1, 1, False, False)], 2)
    fs = [F(2, 2, 1, 1, 1, False, False)] * 2
    with pytest.raises(ChainoptError, match=r"\(1, 1\)"):
        schedule(fs, {(0, 1): ("MUL", 0), (0, 0): ("ACC", 0)}, 2)
    with pytest.raises(ChainoptError, match="TAN"):
        schedule(fs, {(0, 1): ("TAN", 0), (0, 0): ("ACC", 0)}, 2, policy="TAN")
    with pytest.raises(ChainoptError, match="-1"):
        makespan_dp(fs, 2, memory_limit=-1)
    with pytest.raises(ChainoptError, match="0"):
        makespan_bnb(fs, 2, time_limit=0)


def test_list_policy_is_the_reference_priority_list():
    """Deepest first, then costliest; each on the earliest worker."""
    fs = factors_of(stce_rows()[3]["jacobians"])
    _, nodes = makespan_dp(fs, 2)
    ops = schedule(fs, nodes, 2, policy="list")
    assert check_schedule(fs, nodes, ops, 2) == 127064


def test_all_trees_count():
    fs = [F(2, 2, 1, 1, 1, False, False)] * 3
    trees = all_trees(fs, 0, 2)
    assert len({tuple(sorted(t)) for t in trees}) == len(trees) == 12

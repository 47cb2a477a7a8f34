"""Generalized plans through the public API: co.plan on Factors, the notation, and the reference data."""

import json
from pathlib import Path

import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.core.factors import Factor

DATA = Path(__file__).resolve().parent / "data"
STCE = [json.loads(line) for line in (DATA / "stce_repo_configs.jsonl").read_text().splitlines()]


def stce_factors(entry):
    return [Factor(n_in=j["n"], n_out=j["m"], tangent=j["tangent_cost"], adjoint=j["adjoint_cost"], tape=j["edges"])
            for j in entry["jacobians"]]


@pytest.mark.parametrize("entry", STCE[::10], ids=lambda e: f"{e['config_note']}-{e['index']}")
def test_plans_cost_what_the_reference_solver_reports(entry):
    factors = stce_factors(entry)
    assert co.plan(factors, "optimal").cost == entry["mf_dp_cost"]
    assert co.plan(factors, "fwd").cost == entry["global_tangent_cost"]
    assert co.plan(factors, "bwd").cost == entry["global_adjoint_cost"]
    assert co.plan(factors, "preaccumulate").cost == entry["dense_dp_cost"]
    for limited in entry["limited_memory"]:
        if limited["available_memory"]:
            p = co.plan(factors, "optimal", memory_limit=limited["available_memory"])
            assert p.cost == limited["dp_cost"]
            assert all(s.tape <= limited["available_memory"] for s in p.steps)
    for scheduled in entry["scheduled"][:2]:
        machines = None if scheduled["machines"] == "unlimited" else scheduled["machines"]
        p = co.plan(factors, "optimal", machines=machines)
        assert p.makespan == scheduled["dp_makespan"]
        assert p.cost >= entry["mf_dp_cost"]


def _factors(draw_sizes, flags):
    sizes, costs, kinds = draw_sizes
    out = []
    for k, kind in enumerate(kinds):
        n_in, n_out = sizes[k], sizes[k + 1]
        if kind == "given":
            out.append(Factor(n_in=n_in, n_out=n_out, given=True))
        elif kind == "diagonal" and n_in == n_out:
            out.append(Factor(n_in=n_in, n_out=n_out, tangent=n_in, adjoint=n_in, tape=n_in, diagonal=True))
        else:
            out.append(Factor(n_in=n_in, n_out=n_out, tangent=costs[k], adjoint=costs[k], tape=costs[k]))
    return out


chains = st.integers(1, 6).flatmap(
    lambda q: st.tuples(
        st.lists(st.sampled_from([1, 2, 3, 5, 8]), min_size=q + 1, max_size=q + 1),
        st.lists(st.integers(1, 60), min_size=q, max_size=q),
        st.lists(st.sampled_from(["free", "given", "diagonal"]), min_size=q, max_size=q),
    )
)


STRATEGY_NAMES = st.sampled_from(["fwd", "bwd", "optimal", "preaccumulate"])


# 12 examples: the reference solver's chains above check the same costs on fixed cases, and the issue's
# example below the same round trip and steps; the _thorough twin (-m slow) runs 60
@fewer_examples(12)
@given(chains, STRATEGY_NAMES)
def test_every_plan_round_trips_through_its_text_and_its_steps_add_up(spec, strategy):
    factors = _factors(spec, None)
    p = co.plan(factors, strategy)
    assert co.Plan.parse(str(p), factors, memory_limit=p.memory_limit).operations == p.operations
    assert sum(s.cost for s in p.steps) == p.cost
    assert p.cost >= co.plan(factors, "optimal").cost


test_every_plan_round_trips_through_its_text_and_its_steps_add_up_thorough = slow_twin(
    test_every_plan_round_trips_through_its_text_and_its_steps_add_up, chains, STRATEGY_NAMES, max_examples=60)

GIVEN_DIMS = (st.lists(st.integers(1, 40), min_size=2, max_size=9), st.sampled_from(["fwd", "bwd", "optimal"]))


# 20 examples: test_generalized's given-dense tests (a fixed 200-factor chain, and drawn chains against
# optimal, fwd and bwd) check the same identity; the _thorough twin (-m slow) runs 100
@fewer_examples(20)
@given(*GIVEN_DIMS)
def test_a_chain_of_given_factors_is_the_matrix_chain_problem(dims, strategy):
    given_factors = [Factor(n_in=a, n_out=b, given=True) for a, b in zip(dims, dims[1:])]
    assert co.plan(given_factors, strategy) == co.plan(dims, strategy)
    assert co.plan(given_factors, strategy).cost == co.plan(dims, strategy).cost


test_a_chain_of_given_factors_is_the_matrix_chain_problem_thorough = slow_twin(
    test_a_chain_of_given_factors_is_the_matrix_chain_problem, *GIVEN_DIMS, max_examples=100)


def test_the_issue_example():
    f = co.Factor(n_in=42, n_out=8, tangent=7762, adjoint=7762, tape=7762)
    g = co.Factor(n_in=8, n_out=8, tangent=8, adjoint=8, tape=8, diagonal=True)
    h = co.Factor(n_in=8, n_out=3, given=True)
    p = co.plan([f, g, h], "optimal", memory_limit=None)
    assert str(p) == "(A3 F2) F1" and p.cost == 3 * 8 + 3 * 7762
    assert [s.op for s in p.steps] == ["ADJ", "ADJ"] and sum(s.cost for s in p.steps) == p.cost
    assert co.Plan.parse("(A3 F2) F1", [f, g, h]).operations == p.operations
    limited = co.plan([f, g, h], "optimal", memory_limit=100)  # F1's tape no longer fits
    assert "F1" not in str(limited) and all(s.tape <= 100 for s in limited.steps)
    with pytest.raises(co.PlanSyntaxError, match="F1 needs a tape of 7,762 entries but the memory limit is 100"):
        co.Plan.parse("(A3 F2) F1", [f, g, h], memory_limit=100)
    with pytest.raises(co.PlanSyntaxError, match="acts on a formed Jacobian"):
        co.Plan.parse("A3 (F2 F1)", [f, g, h])
    with pytest.raises(co.PlanSyntaxError, match="formed Jacobians only"):
        co.Plan.parse("A3 (F2 A1)", [42, 8, 8, 3])

"""Plans: rendering, parsing, steps, peak memory and depth."""

import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt import Plan, PlanSyntaxError

HOURGLASS = [100, 1000, 10, 1000, 100]


def test_render_fwd_bwd_and_hourglass_as_in_the_design():
    assert str(co.plan([2, 3, 4, 5, 6], "fwd")) == "A4 (A3 (A2 A1))"
    assert str(co.plan([2, 3, 4, 5, 6], "bwd")) == "((A4 A3) A2) A1"
    assert str(co.plan(HOURGLASS, "optimal")) == "(A4 A3) (A2 A1)"
    assert str(co.plan([3, 4], "optimal")) == "A1"
    assert str(co.plan([3, 4, 5], "fwd")) == "A2 A1"


def test_steps_describe_each_product_in_execution_order():
    plan = co.plan(HOURGLASS, "optimal")
    assert [(s.index, s.left, s.right) for s in plan.steps] == [
        (1, "A2", "A1"),
        (2, "A4", "A3"),
        (3, "A4..A3", "A2..A1"),
    ]
    first, _, last = plan.steps
    assert first.left_shape == (10, 1000) and first.right_shape == (1000, 100)
    assert first.shape == (10, 100) and first.cost == 10 * 1000 * 100
    assert first.factors == (1, 1, 2)
    assert last.shape == (100, 100) and last.factors == (1, 2, 4)
    assert sum(s.cost for s in plan.steps) == plan.cost == 2_100_000


def test_peak_memory_follows_its_definition():
    # fwd on 100,1000,10,1000,100: A2A1 (10x100) -> A3(.) (1000x100), freeing the 10x100,
    # then A4(.) (100x100). Peaks: 1000; 1000 + 100000; 100000 + 10000.
    assert co.plan(HOURGLASS, "fwd").peak_memory == 110_000
    # optimal: 10x100, then 100x10 (both alive), then 100x100 while both alive.
    assert co.plan(HOURGLASS, "optimal").peak_memory == 1000 + 1000 + 10000
    assert co.plan([3, 4], "fwd").peak_memory == 0  # one factor, no product
    assert co.plan([3, 4, 5], "fwd").peak_memory == 15


def test_depth():
    assert co.plan([2] * 6, "fwd").depth == 4
    assert co.plan([2] * 6, "bwd").depth == 4
    assert co.plan(HOURGLASS, "optimal").depth == 2
    assert co.plan([2, 2], "fwd").depth == 0


def test_plans_are_values():
    a = Plan.parse("(A4 A3) (A2 A1)", HOURGLASS)
    assert a == co.plan(HOURGLASS, "optimal")
    assert hash(a) == hash(co.plan(HOURGLASS, "optimal"))
    assert a != co.plan(HOURGLASS, "fwd")
    with pytest.raises(AttributeError):
        a.splits = ()
    assert repr(a) == "Plan('(A4 A3) (A2 A1)', chain=Chain([100, 1000, 10, 1000, 100]))"


plan_dims = st.lists(st.integers(1, 9), min_size=2, max_size=8)


# 20 examples: the fixed texts of test_parse_allows_spaces_and_redundant_brackets and the design's
# fwd, bwd and hourglass renderings check the same round trip; the _thorough twin (-m slow) runs 100
@fewer_examples(20)
@given(plan_dims, st.data())
def test_parse_round_trips_every_bracketing(dims, data):
    plans = list(co.all_plans(dims))
    plan = data.draw(st.sampled_from(plans))
    again = Plan.parse(str(plan), dims)
    assert again == plan and str(again) == str(plan)
    assert again.cost == plan.cost


test_parse_round_trips_every_bracketing_thorough = slow_twin(
    test_parse_round_trips_every_bracketing, plan_dims, st.data(), max_examples=100)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  (A4 A3)   (A2  A1) ", "(A4 A3) (A2 A1)"),
        ("((A4 A3) (A2 A1))", "(A4 A3) (A2 A1)"),
        ("(((A4 A3)) ((A2) A1))", "(A4 A3) (A2 A1)"),
        ("A4(A3(A2 A1))", "A4 (A3 (A2 A1))"),
    ],
)
def test_parse_allows_spaces_and_redundant_brackets(text, expected):
    assert str(Plan.parse(text, HOURGLASS)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A4 A3 A2 A1", r"more than two operands"),
        ("(A4 A3 A2) A1", r"more than two operands"),
        ("A4 (A3 (A2 A1)", r"unbalanced '\('"),
        ("A4 (A3 A2)) A1", r"unbalanced '\)'"),
        ("(A4 A3) (A1 A2)", r"A1 cannot multiply A2.*descending order"),
        ("(A4 A3) (A3 A1)", r"cannot multiply"),
        ("(A4 A3) A2", r"leaves out A1"),
        ("(A5 A4) (A2 A1)", r"A5 is not a factor .*the chain.s factors are A1..A4"),
        ("(A4 * A3) (A2 A1)", r"unexpected '\*' at position 4"),
        ("(B4 A3) (A2 A1)", r"unexpected 'B'"),
        ("", r"empty brackets|leaves out|no valid"),
        ("()", r"empty brackets"),
        ("(A4 A3) (A2 A1) ()", r"empty brackets"),
    ],
)
def test_parse_errors_are_clear(text, expected):
    with pytest.raises(PlanSyntaxError, match=expected):
        Plan.parse(text, HOURGLASS)


def test_parse_rejects_non_strings():
    with pytest.raises(PlanSyntaxError, match="must be a string"):
        Plan.parse(None, HOURGLASS)


def test_from_splits_checks_the_bracketing_is_full():
    assert str(Plan.from_splits([2, 3, 4, 5], {(0, 2): 1, (0, 1): 0})) == "A3 (A2 A1)"
    with pytest.raises(PlanSyntaxError, match="no valid split"):
        Plan.from_splits([2, 3, 4, 5], {(0, 2): 1})
    with pytest.raises(PlanSyntaxError, match="do not belong"):
        Plan.from_splits([2, 3, 4, 5], {(0, 2): 1, (0, 1): 0, (1, 2): 1})
    with pytest.raises(PlanSyntaxError, match="no valid split"):
        Plan.from_splits([2, 3, 4, 5], {(0, 2): 5, (0, 1): 0})


# 1,500 factors already nest past Python's default recursion limit of 1,000; 5,000 with -m slow
@pytest.mark.parametrize("n", [1500, pytest.param(5000, marks=pytest.mark.slow)])
def test_long_plans_need_no_recursion(n):
    dims = [3] * (n + 1)  # an (n - 1)-deep fwd tree
    plan = co.plan(dims, "fwd")
    text = str(plan)
    assert text.startswith(f"A{n} (A{n - 1} (") and text.endswith("(A2 A1)" + ")" * (n - 3))
    assert Plan.parse(text, dims) == plan
    assert plan.depth == n - 1 and plan.cost == co.fwd_cost(dims)
    assert co.plan(dims, "bwd").depth == n - 1


@pytest.mark.parametrize("text", ["A2A1", "A\u0662 A1", "A2 A1x"])
def test_parse_accepts_only_the_names_str_writes(text):
    with pytest.raises(PlanSyntaxError, match=r"unexpected .* the factors A1..A2 \(separated by spaces\)"):
        Plan.parse(text, [2, 3, 4])

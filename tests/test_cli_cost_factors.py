"""``chainopt cost`` on generalized chains, machines and long chains; the report pieces they share.

Oracles: costs worked out by hand from the cost model (a 4 -> 3 -> 2 tanh
MLP), the library's plans on an independently built network (real weights),
``str(plan)`` for the linear-time plan text, and schedules checked for
overlaps and durations directly.
"""

import csv
import io
import json
from fractions import Fraction

import pytest
from cli_processes import run_cli_together
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

import chainopt as co
from chainopt.cli import main
from chainopt.core.strategies import dp, strategy_name
from chainopt.report.plan_report import (
    check_generalized_size,
    check_makespan_size,
    first_steps,
    plan_text,
)

#: mlp([4, 3, 2]): Dense 4->3 (given), tanh on 3 (diagonal, t = a = tape = 3), Dense 3->2 (given).
#: By hand: FWD = TAN F2 over 4 columns (12) + A3 times a 3x4 (24) = 36; BWD = ADJ F2 over 2 rows (6)
#: + 2x3 times A1 (24) = 30; preaccumulate = ACC F2 (3) + (A3 A2) a column scaling (6) + 24 = 33;
#: the optimum is BWD's 30. With memory limit 0 no adjoint may pass F2 (tape 3): BWD is impossible
#: and the optimum is preaccumulate's 33.
SMALL = [4, 3, 2]
SMALL_COSTS = {"fwd": 36, "bwd": 30, "preaccumulate": 33, "optimal": 30}


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def small_factors():
    return co.layers.mlp(SMALL).factors()


# -- the library report -----------------------------------------------------------------------


def test_generalized_report_costs_and_speedups_match_the_hand_computation():
    report = co.cost_report(small_factors())
    assert {name: report.cost(name) for name in SMALL_COSTS} == SMALL_COSTS
    assert report.speedups() == {"fwd": float(Fraction(36, 30)), "bwd": 1.0, "preaccumulate": float(Fraction(33, 30))}
    text = report.to_text()
    assert "FWD cost:  36 (global tangent sweep)" in text and "BWD cost:  30 (global adjoint sweep)" in text
    assert "preaccumulate cost:  33" in text and "speed-up over FWD:  1.20x" in text
    assert "memory limit:  unlimited" in text and "factors:  3: 0 matrix-free, 1 diagonal, 2 given" in text


def test_memory_limit_makes_bwd_impossible_and_the_report_says_so():
    report = co.cost_report(small_factors(), memory_limit=0)
    assert report.cost("bwd") is None and report.optimal_cost == 33
    assert "BWD cost:  impossible" in report.to_text() and "speed-up over BWD:  -" in report.to_text()
    data = json.loads(report.to_json())
    assert data["bwd_cost"] is None and data["memory_limit"] == 0 and data["optimal_speedup"]["bwd"] is None
    bwd = next(r for r in data["strategies"] if r["strategy"] == "bwd")
    assert "tape of 3 entries" in bwd["note"]


def test_generalized_report_every_format_is_exact_and_consistent():
    report = co.cost_report(small_factors(), "FWD")
    assert report.strategy == "fwd"
    data = json.loads(report.to_json())
    assert data == json.loads(json.dumps(report.to_dict()))
    assert [data[f"{n}_cost"] for n in SMALL_COSTS] == list(SMALL_COSTS.values())
    steps = data["plan"]["steps"]
    assert sum(s["cost"] for s in steps) == data["plan"]["cost"] == 36
    assert [s["op"] for s in steps] == [s.op for s in co.plan(small_factors(), "fwd").steps]
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["strategy"] for r in rows] == ["fwd", "bwd", "preaccumulate", "optimal"]
    assert [int(r["cost"]) for r in rows] == list(SMALL_COSTS.values()) and rows[0]["chain"] == "4,3,3,2"
    md = report.to_markdown()
    assert "| preaccumulate | 33 |" in md and "| op |" in md
    for fmt in ("text", "markdown", "csv", "json"):
        assert report.format(fmt) == getattr(report, "to_" + fmt)()


def test_dims_and_given_factors_agree_in_their_costs():
    dims = [30, 35, 15, 5, 10, 20, 25]
    factors = [co.Factor(n_in=a, n_out=b, given=True) for a, b in zip(dims, dims[1:])]
    report = co.cost_report(factors)
    assert report.optimal_cost == 15125 == co.cost_report(dims).optimal_cost
    assert report.cost("preaccumulate") == 15125


def test_memory_limit_on_dims_is_refused():
    with pytest.raises(co.ChainoptError, match="memory_limit=5 applies to factors"):
        co.cost_report([3, 4, 5], memory_limit=5)


# -- machines ---------------------------------------------------------------------------------


def _check_schedule(rows):
    for r in rows:
        assert r["end"] - r["start"] == r["cost"] >= 0
    by_worker = {}
    for r in rows:
        by_worker.setdefault(r["worker"], []).append((r["start"], r["end"]))
    for spans in by_worker.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


@pytest.mark.parametrize("machines", [2, None])
def test_hourglass_on_two_or_unlimited_machines_runs_its_two_halves_side_by_side(machines):
    # (A4 A3) and (A2 A1) cost 1,000,000 each and are independent; the last product costs 100,000
    report = co.cost_report([100, 1000, 10, 1000, 100], machines=machines)
    data = json.loads(report.to_json())["machines"]
    assert data["makespan"] == 1_100_000 and data["one_machine"] == 2_100_000 and data["total_work"] == 2_100_000
    assert data["speedup"] == float(Fraction(21, 11)) and data["machines"] == machines
    _check_schedule(data["schedule"])
    assert {r["worker"] for r in data["schedule"]} == {0, 1}
    text = report.to_text()
    assert "speed-up over 1 machine:  1.91x (1 machine: 2,100,000)" in text
    assert "schedule of the shortest-makespan plan on" in text


def test_machines_on_factors_agree_with_the_plan():
    factors = co.layers.mlp([64, 32, 16, 8]).factors()
    report = co.cost_report(factors, machines=2)
    plan = co.plan(factors, "optimal", machines=2)
    data = report.to_dict()["machines"]
    assert data["makespan"] == plan.makespan and data["total_work"] == plan.cost
    assert data["one_machine"] == co.plan(factors, "optimal").cost
    _check_schedule(data["schedule"])


def test_makespan_and_generalized_sizes_are_refused_before_any_work():
    check_makespan_size(10**6, 1)  # one machine: the sequential optimum, any length
    with pytest.raises(co.ChainTooLongError, match=r"2,000 factors on 4 machines .*at most 457"):
        check_makespan_size(2000, 4)
    with pytest.raises(co.ChainTooLongError, match="unlimited machines"):
        check_makespan_size(10**4, None)
    with pytest.raises(co.ChainTooLongError, match="3,001 factors is too long"):
        check_generalized_size(3001)
    with pytest.raises(co.ChainTooLongError, match="at most"):
        co.cost_report([2] * 5001, machines=3)


# -- plan pieces ------------------------------------------------------------------------------


PLAIN_PLANS = (st.lists(st.integers(1, 9), min_size=2, max_size=30), st.sampled_from(["fwd", "bwd", "optimal"]))
GENERALIZED_SPECS = st.lists(st.tuples(st.integers(1, 6), st.booleans(), st.booleans()), min_size=1, max_size=8)


# 12 examples each (the long-report test below renders a 5000-factor plan exactly); the _thorough twins
# (-m slow) run 60
@fewer_examples(12)
@given(*PLAIN_PLANS)
def test_plan_text_is_str_of_the_plan(dims, name):
    plan = co.plan(dims, name)
    assert plan_text(plan) == str(plan)
    k = len(dims) // 3
    assert first_steps(plan, k) == list(plan.steps[:k])


test_plan_text_is_str_of_the_plan_thorough = slow_twin(test_plan_text_is_str_of_the_plan, *PLAIN_PLANS, max_examples=60)


@fewer_examples(12)
@given(GENERALIZED_SPECS)
def test_plan_text_of_generalized_plans(spec):
    factors, n = [], 3
    for n_out, diagonal, is_given in spec:
        n_out = n if diagonal else n_out
        cost = n if diagonal else n * n_out
        factors.append(co.Factor(n_in=n, n_out=n_out, tangent=cost, adjoint=cost, diagonal=diagonal, given=is_given))
        n = n_out
    for name in ("fwd", "bwd", "preaccumulate", "optimal"):
        plan = co.plan(factors, name)
        assert plan_text(plan) == str(plan)


test_plan_text_of_generalized_plans_thorough = slow_twin(test_plan_text_of_generalized_plans, GENERALIZED_SPECS,
                                                         max_examples=60)


def test_a_long_report_elides_the_plan_and_deep_plans_render_exactly():
    # forward mode nests as deep as the chain is long; the text is built by one walk (no recursion)
    n = 5000
    expected = "A2 A1"
    for k in range(3, n + 1):  # the definition, written out (quadratic here, linear in chainopt)
        expected = f"A{k} ({expected})"
    assert str(co.plan([2] * (n + 1), "fwd")) == expected
    report = co.cost_report([3, 5, 2, 7] * 100)
    for fmt in ("text", "markdown", "csv", "json"):
        report.format(fmt)
    assert "(long; see the steps)" in report.to_text() and "... 358 more steps" in report.to_text()


# -- strategies: names and the DP's refusal ----------------------------------------------------


def test_strategy_names_are_case_insensitive():
    assert strategy_name("FWD") == "fwd" and co.plan([2, 3, 4], "Optimal") == co.plan([2, 3, 4], "optimal")
    assert list(co.compare([3, 4, 5], strategies=["FWD", "bwd"])["strategy"]) == ["fwd", "bwd"]


def test_the_dp_refuses_by_length_naming_the_alternatives():
    for call in (lambda: dp.optimal([2] * 4002), lambda: co.optimal_cost_table([2] * 4002)):
        with pytest.raises(co.ChainTooLongError, match=r"4,001 factors .* use strategy 'optimal' or 'hu_shing'"):
            call()
    # preaccumulate on dims is the optimum (free preaccumulation) at any length, not the DP
    dims = [3, 5, 2, 7] * 1001
    assert co.plan(dims, "preaccumulate").cost == co.plan(dims, "optimal").cost


# -- the command line ---------------------------------------------------------------------------


def test_cli_network_equals_the_library_on_a_real_network(capsys):
    status, out, err = run(capsys, "cost", "--network", "mlp:64,32,16,8", "--activation", "sigmoid", "-f", "json")
    assert status == 0 and err == ""
    data = json.loads(out)
    expected = co.cost_report(co.layers.mlp([64, 32, 16, 8], activation="sigmoid").factors()).to_dict()
    assert data["source"] == "mlp:64,32,16,8 (sigmoid)"
    assert {k: v for k, v in data.items() if k != "source"} == {k: v for k, v in expected.items() if k != "source"}


def test_cli_factors_file_with_memory_limit_and_machines(capsys, tmp_path):
    path = tmp_path / "chain.csv"
    path.write_text("n_in,n_out,tangent,adjoint,tape,diagonal,given\n4,3,12,12,12,false,true\n"
                    "3,3,3,3,3,true,false\n3,2,6,6,6,false,true\n")
    status, out, _ = run(capsys, "cost", "--factors", str(path), "--memory-limit", "0", "-f", "json")
    data = json.loads(out)
    assert status == 0 and data["optimal_cost"] == 33 and data["bwd_cost"] is None
    status, out, _ = run(capsys, "cost", "--factors", str(path), "--machines", "UNLIMITED")
    assert status == 0 and "machines:  unlimited" in out and "schedule of the shortest-makespan plan" in out
    for fmt in ("text", "markdown", "csv", "json"):
        assert run(capsys, "cost", "--factors", str(path), "--machines", "2", "-f", fmt)[0] == 0


def test_cli_dims_file_reads_spaces_commas_and_newlines(capsys, tmp_path):
    path = tmp_path / "dims.txt"
    path.write_text("30 35,15\n5, 10\n\n20\t25\n")
    status, out, _ = run(capsys, "cost", "--dims-file", str(path), "-f", "json")
    assert status == 0 and json.loads(out)["optimal_cost"] == 15125
    assert json.loads(out)["chain"] == [30, 35, 15, 5, 10, 20, 25]


def test_cli_strategy_in_any_case_gives_the_same_report(capsys):
    assert run(capsys, "cost", "100", "1000", "10", "1000", "100", "-s", "FWD") == \
        run(capsys, "cost", "100", "1000", "10", "1000", "100", "-s", "fwd")


def test_cli_version(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"chainopt {co.__version__}"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["784", "512", "10"], "'784' is not a command; for the cost report of these dims run: chainopt cost 784"),
        (["784,512,10"], "chainopt cost 784,512,10"),
        (["cost", "--dims-file", "/no/such/file"], "cannot read the dims file '/no/such/file': No such file"),
        (["cost", "--factors", "/no/such/file.csv"], "cannot read the factors file '/no/such/file.csv'"),
        (["cost", "3", "4", "--network", "mlp:3,4"], "give the chain one way"),
        (["cost", "--network", "mlp:3,x"], "--network 'mlp:3,x': dim 'x' is not a whole number"),
        (["cost", "--network", "cnn:3,4"], "give a kind and its widths"),
        (["cost", "--network", "mlp:3,4", "--activation", "gelu"], "unknown activation 'gelu'"),
        (["cost", "3", "4", "--activation", "tanh"], "--activation 'tanh' needs --network"),
        (["cost", "3", "4", "--memory-limit", "5"], "--memory-limit limits the adjoints' tapes"),
        (["cost", "3", "4", "--machines", "0"], "'0' is not a whole number >= 1 or 'unlimited'"),
        (["cost", "3", "4", "--machines", "2.5"], "'2.5' is not a whole number >= 1"),
        (["cost", "--dims-file", "-", "--machines", "x"], "'x' is not a whole number >= 1"),  # before reading stdin
        (["cost", "3", "4", "-s", "nope"], "unknown strategy 'nope'"),
        (["cost", *["2"] * 600, "--machines", "8"], "would run for more than about a minute"),
        (["cost", "3", "9" * 5000], "has 5,000 digits"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("chainopt") and len(err) < 300


def test_cli_bad_files_are_one_line(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    bad = tmp_path / "bad.txt"
    bad.write_text("3 4\n5 x7\n")
    factors = tmp_path / "bad.csv"
    factors.write_text("n_in,n_out,given\n3,4,true\n5,2,true\n")
    for argv, message in ((["--dims-file", str(empty)], "is empty"),
                          (["--dims-file", str(bad)], "dim 'x7' is not a whole number"),
                          (["--factors", str(factors)], "F_2 takes 5 inputs but F_1 gives 4")):
        status, out, err = run(capsys, "cost", *argv)
        assert status == 2 and out == "" and err.count("\n") == 1 and message in err


BAD_ARGVS = [["784", "512", "10"], ["cost", "--factors", "/no/such/file"],
             ["cost", "--dims-file", "-", "--machines", "x"]]
STDIN_ARGV = ["cost", "--dims-file", "-", "-f", "csv"]


def check_dims_from_standard_input(status, out, err):
    assert status == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["cost"]) for r in rows] == [7500, 75000, 7500] and rows[0]["chain"] == "10,100,5,50"


def test_cli_dims_from_standard_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("10,100\n5 50\n"))
    check_dims_from_standard_input(*run(capsys, *STDIN_ARGV))


# The cost command's exit status and stderr in a real process are checked by default in test_cli.py; these
# kinds of refusal (each message checked in-process above) and a real standard input run with -m slow.
@pytest.mark.slow
def test_cli_subprocesses_bad_input_and_dims_from_standard_input():
    runs = [*((a, "3 4\n") for a in BAD_ARGVS), (STDIN_ARGV, "10,100\n5 50\n")]
    *bad, piped = run_cli_together(runs)
    for argv, proc in zip(BAD_ARGVS, bad):
        assert proc.returncode == 2 and proc.stdout == "", argv
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, argv
    check_dims_from_standard_input(piped.returncode, piped.stdout, piped.stderr)


def test_cli_network_too_large_to_build_is_still_planned_from_its_sizes(capsys):
    # mlp:100000,100000,10 would need 75 GiB of weights; its factors need only the sizes
    status, out, err = run(capsys, "cost", "--network", "mlp:100000,100000,10", "-f", "json")
    assert status == 0 and err == ""
    n = 100_000
    expected = [co.Factor(n_in=n, n_out=n, tangent=n * n, adjoint=n * n, tape=n * n, given=True),
                co.Factor(n_in=n, n_out=n, tangent=n, adjoint=n, tape=n, diagonal=True),
                co.Factor(n_in=n, n_out=10, tangent=10 * n, adjoint=10 * n, tape=10 * n, given=True)]
    data = json.loads(out)
    assert data["optimal_cost"] == co.plan(expected).cost and data["bwd_cost"] == co.plan(expected, "bwd").cost

"""The command line: reports, formats, and one-line errors with exit status 2."""

import json

import pytest
from cli_processes import run_cli_together

from chainopt.cli import main, parse_dims


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_no_arguments_reports_the_built_in_chains(capsys):
    status, out, err = run(capsys)
    assert status == 0 and err == ""
    assert "784 -> 512 -> 256 -> 10 -> 1" in out and "100 -> 1000 -> 10 -> 1000 -> 100" in out
    assert "(A4 A3) (A2 A1)" in out and "((A4 A3) A2) A1" in out


@pytest.mark.parametrize("dims", [["784", "512", "256", "10", "1"], ["784,512,256,10,1"], ["784,", "512 256", "10,1"]])
def test_cost_accepts_spaces_and_commas(capsys, dims):
    status, out, _ = run(capsys, "cost", *dims)
    assert status == 0
    assert "chain:  784 -> 512 -> 256 -> 10 -> 1" in out and "BWD cost:  535,040" in out


def test_cost_json_parses_and_is_exact(capsys):
    status, out, _ = run(capsys, "cost", "30,35,15,5,10,20,25", "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["optimal_cost"] == 15125 and data["chain"] == [30, 35, 15, 5, 10, 20, 25]


def test_cost_with_a_strategy_and_formats(capsys):
    status, out, _ = run(capsys, "cost", "100", "1000", "10", "1000", "100", "-s", "bwd", "-f", "csv")
    assert status == 0 and out.splitlines()[0].startswith("chain,strategy,cost")
    status, out, _ = run(capsys, "cost", "3", "4", "5", "-f", "markdown")
    assert status == 0 and "|---" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["cost", "3", "0", "4"], "n_2 is 0"),
        (["cost", "3", "-4"], "n_2 is -4"),
        (["cost", "3", "x"], "dim 'x' is not a whole number"),
        (["cost", "3", "2.5"], "dim '2.5' is not a whole number"),
        (["cost", "7"], "at least 2 dims"),
        (
            ["cost", "3", "4", "--strategy", "magic"],
            "unknown strategy 'magic'; choose one of: fwd, bwd, optimal, brute",
        ),
        (["cost", "3", "4", "--format", "xml"], "invalid choice: 'xml'"),
        (["cost"], "the following arguments are required"),
        (["frobnicate"], "invalid choice"),
        (["cost", *["2"] * 20, "-s", "brute"], "at most 12 factors"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("chainopt")


#: Bad inputs of three kinds (a chain's check, a strategy name, argparse's own): the first runs as a real process
#: by default, all three with -m slow; test_bad_input_is_one_line_and_exit_2 and test_cli_cost_factors check
#: each message in-process.
BAD_ARGVS = [["cost", "3", "0"], ["cost", "3", "4", "-s", "nope"], ["nope"]]


@pytest.fixture(scope="module")
def processes():
    """This module's real processes (the first bad input, then no arguments), started together; by argv."""
    argvs = [BAD_ARGVS[0], []]
    return {tuple(a): p for a, p in zip(argvs, run_cli_together([(a, None) for a in argvs]))}


def check_refused(proc):
    """Exit status 2, one line on stderr, no traceback, nothing on stdout."""
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stdout == ""


def test_subprocess_exit_status_2_and_no_traceback(processes):
    check_refused(processes[tuple(BAD_ARGVS[0])])


@pytest.mark.slow
def test_every_bad_input_kind_in_a_subprocess():
    for argv, proc in zip(BAD_ARGVS, run_cli_together([(a, None) for a in BAD_ARGVS])):
        assert proc.returncode == 2, argv
        check_refused(proc)


def test_python_dash_m_runs_the_default_report(processes):
    proc = processes[()]
    assert proc.returncode == 0 and "optimal plan:" in proc.stdout


def test_help_explains_input_first(capsys):
    status, out, _ = run(capsys, "cost", "--help")
    assert status == 0
    assert "INPUT FIRST" in out and "784 512 256 10 1" in out


def test_parse_dims():
    assert parse_dims(["1,2", "3"]) == [1, 2, 3]
    assert parse_dims(["0"]) == [0]  # the range is Chain's job


@pytest.mark.parametrize(
    "argv, message",
    [
        (["cost", "10,,20"], "empty dim in '10,,20'"),
        (["cost", ",10", "20"], "empty dim"),
        (["cost", "\u0661\u0662", "5", "5"], "is not a whole number"),  # Arabic-Indic digits
        (["cost", "10", "20", "30", "--max-steps", "-1"], "'-1' is not a whole number >= 0"),
    ],
)
def test_typos_in_dims_and_options_are_refused(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err


def test_trailing_comma_is_harmless(capsys):
    status, out, _ = run(capsys, "cost", "784,", "512")
    assert status == 0 and "784 -> 512" in out


def test_long_chains_print_no_time_note_and_no_reports_path(capsys):
    # the old "N^3 ... roughly N s" note was wrong once Hu-Shing ran there, and pointed at reports/
    status, out, err = run(capsys, "cost", *["3"] * 1001, "--max-steps", "2")
    assert status == 0 and err == "" and "reports/" not in out
    assert "3 -> 3 -> 3 -> 3 -> 3 -> ... -> 3" in out and "(1,000 factors)" in out


def test_words_that_cannot_be_options_are_positional(capsys):
    status, out, _ = run(capsys, "sweep", "-x*y", "--at", "x=1,y=2")
    assert status == 0 and "df/dx = -2, df/dy = -1" in out
    status, _, err = run(capsys, "cost", "3", "-4")
    assert status == 2 and "n_2 is -4" in err  # a negative dim reaches Chain's check, not argparse
    status, out, _ = run(capsys, "cost", "3", "4", "--format=csv")
    assert status == 0 and out.startswith("chain,strategy,cost")

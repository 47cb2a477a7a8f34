"""Messages of the command line that read as a user expects (through main(), in-process)."""

import pytest

from chainopt.cli import main


@pytest.mark.parametrize("argv", [["bench", "5", "3", "2", "--seed", "-1"],
                                  ["report", "--quick", "--only", "notes_claim", "--seed", "-1"]])
def test_a_negative_seed_is_refused_without_mentioning_none(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["chainopt: error: seed -1 is not allowed; use an integer >= 0"]


def test_one_factor_on_two_machines_says_there_is_nothing_to_schedule(capsys):
    assert main(["cost", "10", "20", "--machines", "2"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("(one factor: nothing to schedule)")
    assert main(["cost", "10", "20", "--machines", "2", "--format", "markdown"]) == 0
    assert "(one factor: nothing to schedule)" in capsys.readouterr().out


BIG_INT = "9" * 5000
LONG_WORD = "x" * 100_000


@pytest.mark.parametrize(("argv", "words"), [
    (["bench", "5", "3", "2", "--seed", BIG_INT],
     ["argument --seed: invalid int value: '999", "...999", "999' (5,000 digits); expected an integer of at most"]),
    (["bench", "5", "3", "2", "--repeats", BIG_INT], ["argument --repeats/-r: invalid int value", "(5,000 digits)"]),
    (["bench", "5", "3", "2", "--repeats", LONG_WORD],
     ["invalid int value: 'xxx", "(100,000 characters); expected an integer"]),
    (["report", "--seed", BIG_INT], ["argument --seed: invalid int value", "(5,000 digits)"]),
    (["cost", "3", "4", "--max-steps", BIG_INT],
     ["argument --max-steps: '999", "has 5,000 digits; expected a whole number"]),
    (["cost", "3", "4", "--machines", BIG_INT], ["argument --machines:", "(5,000 digits)"]),
    (["cost", "3", "4", "--format", LONG_WORD], ["invalid choice: 'xxx", "(100,000 characters) (choose from 'text'"]),
    ([LONG_WORD], ["invalid choice: 'xxx", "(100,000 characters)"]),
    (["cost", "3", "4", "--bogus", LONG_WORD], ["unrecognized arguments: --bogus xxx"]),
    (["cost", "3", "4", f"--{LONG_WORD}"], ["unrecognized arguments: --xxx"]),
])
def test_every_usage_error_line_is_bounded(argv, words, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainopt: error: "), captured.err[:500]
    assert len(lines[0]) < 450, len(lines[0])
    for word in words:
        assert word in lines[0], lines[0]


def test_short_usage_errors_keep_argparse_s_words(capsys):
    assert main(["bench", "5", "3", "2", "--seed", "abc"]) == 2
    err = capsys.readouterr().err
    assert err == "chainopt: error: argument --seed: invalid int value: 'abc' (see chainopt bench --help)\n"


# The library's benchmark speaks as the command line does: the parameter, its value, what is expected.

@pytest.mark.parametrize(("strategies", "words"), [
    (None, ["strategies is None (NoneType); expected a strategy name or a list of names, from: fwd, bwd"]),
    (5, ["strategies is 5 (int); expected a strategy name or a list of names"]),
    ("fwd,bwd", ["unknown strategy 'fwd,bwd'", "strategies=['fwd', 'bwd'] (only the command line takes commas)"]),
    (["fwd", "x" * 100_000], ["unknown strategy 'xxx", "...xxx", "xxx'; choose one of: fwd"]),
])
def test_benchmark_names_bad_strategies(strategies, words):
    import chainopt as co

    with pytest.raises(co.ChainoptError) as info:
        co.benchmark([5, 4, 3], strategies=strategies, repeats=1, peak_size=None)
    message = str(info.value)
    assert len(message) < 300
    for word in words:
        assert word in message


@pytest.mark.parametrize("peak_size", [0, -1])
def test_benchmark_names_peak_size_and_how_to_skip_it(peak_size):
    import chainopt as co

    with pytest.raises(co.ChainoptError) as info:
        co.benchmark([5, 4, 3], repeats=1, peak_size=peak_size)
    assert str(info.value) == (f"peak_size is {peak_size}; expected an integer >= 1 "
                               "(or peak_size=None to skip the peak measurement)")


def test_a_long_strategy_name_on_the_command_line_is_one_bounded_line(capsys):
    assert main(["bench", "5", "3", "2", "--strategies", "fwd," + "x" * 100_000]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainopt: error: unknown strategy 'xxx") and len(lines[0]) < 300


@pytest.mark.parametrize(("upper", "lower"), [
    (["cost", "--network", "mlp:4,3,2", "--activation", "TANH"], ["cost", "--network", "mlp:4,3,2"]),
    (["sweep", "chain:4,3,2", "--activation", "Sin"], ["sweep", "chain:4,3,2", "--activation", "sin"]),
])
def test_activation_names_are_case_insensitive_as_strategies_are(upper, lower, capsys):
    assert main(upper) == 0
    shouted = capsys.readouterr().out
    assert main(lower) == 0
    assert shouted == capsys.readouterr().out


def test_only_names_are_case_insensitive():
    from chainopt.cli.reports import _only

    assert _only("NOTES_CLAIM, Bench") == ["notes_claim", "bench"]

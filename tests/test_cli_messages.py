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

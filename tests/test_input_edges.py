"""Inputs a new user typed in review: each refused with one clear error, or answered sensibly."""

import pytest

import chainopt as co
from chainopt.cli import main
from chainopt.errors import ChainoptError, DimensionError


@pytest.mark.parametrize("argv", [["cost", "", "10", "20"], ["cost", "", "3"], ["cost", "10", "  ", "20"]])
def test_an_empty_dim_argument_is_refused_not_dropped(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "chainopt: error: empty dim: an empty argument ('') where a whole number was expected; give positive "
        "integers, input first, e.g. 784 512 256 10 1"]


@pytest.mark.parametrize("bad", [-1, 0.5, "x", True])
@pytest.mark.parametrize("strategy", ["fwd", "bwd", "optimal", "preaccumulate"])
def test_a_bad_memory_limit_is_refused_naming_it(bad, strategy):
    with pytest.raises(DimensionError, match=f"memory_limit is {bad!r}"):
        co.plan([10, 20, 30], strategy, memory_limit=bad)


@pytest.mark.parametrize("strategy", ["fwd", "bwd", "optimal", "preaccumulate"])
def test_a_memory_limit_on_plain_dims_is_refused_as_the_cli_does(strategy):
    with pytest.raises(ChainoptError, match="memory_limit=5 limits tapes, and plain dims have none"):
        co.plan([10, 20, 30], strategy, memory_limit=5)
    assert str(co.plan([10, 20, 30], strategy, memory_limit=None)) == str(co.plan([10, 20, 30], strategy))


def test_a_missing_factors_file_is_a_plain_chainopt_error(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ChainoptError, match="cannot read the factors file") as info:
        co.read_factors(missing)
    assert type(info.value) is ChainoptError


def test_one_factor_on_two_machines_claims_no_speed_up(capsys):
    assert main(["cost", "10", "20", "--machines", "2"]) == 0
    assert "speed-up over 1 machine:  none: there is no work to share (1 machine: 0)" in capsys.readouterr().out

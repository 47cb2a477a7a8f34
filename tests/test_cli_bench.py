"""``chainopt bench``: output formats, and one stderr line with exit 2 on bad input."""

import importlib
import io
import json

import pandas as pd
import pytest

from chainopt.cli import main
from chainopt.cli.bench import parse_bytes

timing = importlib.import_module("chainopt.bench.harness")

# these tests check what bench prints, not how long anything took: 1 ms measurements (conftest.short_measurements)
pytestmark = [pytest.mark.filterwarnings("ignore::chainopt.bench.harness.TimingSpreadWarning"),
              pytest.mark.usefixtures("short_measurements")]

FAST = ["--peak-size", "8", "--repeats", "6"]  # 6: the fewest repeats with intervals


def run(capsys, *argv):
    status = main(["bench", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_text_table(capsys):
    status, out, err = run(capsys, "20", "30", "5", "30", "20", *FAST)
    assert status == 0 and err == ""
    lines = out.splitlines()
    labels = {line.split(":  ", 1)[0].strip(): line.split(":  ", 1)[1] for line in lines if ":  " in line}
    assert labels["chain"].startswith("20 -> 30 -> 5 -> 30 -> 20")  # the dims given, input first
    assert lines[0].startswith(" ") and lines[0].index(":  ") == lines[1].index(":  ")  # right-aligned labels
    assert any(line.lstrip().startswith("peak matmul rate:") for line in lines)
    header = next(line for line in lines if line.startswith("strategy"))
    assert header.split()[:3] == ["strategy", "plan", "multiply-adds"]
    rows = {
        line.split()[0]: line
        for line in lines
        if line.split() and line.split()[0] in ("fwd", "bwd", "optimal", "multi_dot")
    }
    assert set(rows) == {"fwd", "bwd", "optimal", "multi_dot"}
    assert "(A4 A3) (A2 A1)" in rows["optimal"] and "8,000" in rows["optimal"]


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_machine_formats(capsys, fmt):
    status, out, _ = run(capsys, "4,5,6", "--strategies", "fwd,bwd", "--dtype", "float32", "--format", fmt, *FAST)
    assert status == 0
    if fmt == "csv":
        df = pd.read_csv(io.StringIO(out))
        assert list(df["strategy"]) == ["fwd", "bwd"] and (df["dtype"] == "float32").all()
    elif fmt == "json":
        data = json.loads(out)
        assert data["chain"] == [4, 5, 6] and len(data["times"]) == 2 * 6  # 2 strategies x 6 repeats
    else:
        assert out.startswith("|") and "| strategy |" in out


@pytest.mark.slow
def test_layers_and_seed(capsys):
    status, out, _ = run(capsys, "5", "4", "3", "--layers", "mlp", "--seed", "3", "--format", "json", *FAST)
    assert status == 0 and json.loads(out)["chain"] == [5, 4, 4, 3]
    status, out, _ = run(capsys, "4", "4", "4", "--layers", "resnet", "--format", "json", *FAST)
    assert status == 0 and "resnet" in json.loads(out)["layers"]


def test_progress_goes_to_stderr(capsys):
    status, out, err = run(capsys, "4", "5", "6", "--progress", "always", *FAST)
    assert status == 0 and "chainopt bench: repeat 6/6" in err and "repeat 1/6" not in out
    status, out, err = run(capsys, "4", "5", "6", "--progress", "never", *FAST)
    # no progress; only a timing-spread note may appear (a loaded machine can spread 6 repeats over 4x)
    assert all(line.startswith("chainopt bench: note: ") for line in err.splitlines())


def test_spread_warnings_become_notes(capsys, monkeypatch):
    monkeypatch.setattr(timing, "time_interleaved", lambda funcs, **k: {n: [1e-3, 5e-3] for n in funcs})
    status, out, err = run(capsys, "4", "5", "6", "--strategies", "fwd", *FAST)
    assert status == 0
    assert err.count("\n") == 1 and "note: fwd: the slowest repeat" in err


@pytest.mark.parametrize("argv, message", [
    (["100", "x"], "dim 'x' is not a whole number"),
    (["100"], "a chain needs at least 2 dims"),
    (["100", "0", "3"], "n_2 is 0"),
    (["10", "20", "--strategies", "fwd,sideways"], "unknown strategy 'sideways'"),
    (["10", "20", "30", "--layers", "resnet"], "needs equal dims"),
    (["10", "20", "--budget", "1K"], "would need"),
    (["10", "20", "--budget", "lots"], "budget 'lots' is not a size"),
    (["10", "20", "--repeats", "0"], "need repeats >= 1"),
    (["100000", "100000", "100000"], "would need"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv, "--peak-size", "8")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("chainopt: error: ") and message in err


def test_argparse_errors_exit_2(capsys):
    assert main(["bench", "10", "20", "--layers", "cnn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'cnn'" in err


def test_parse_bytes():
    assert parse_bytes("512M") == 512 * 2**20
    assert parse_bytes("1.5GiB") == 3 * 2**29
    assert parse_bytes("100") == 100


def test_default_strategies_leave_multi_dot_out_of_long_chains_with_a_note(capsys):
    from chainopt.cli import main

    status = main(["bench", *["2"] * 103, "-r", "1", "--peak-size", "0", "-f", "csv"])
    out, err = capsys.readouterr()
    assert status == 0
    assert "note: multi_dot left out, 102 factors > 100" in err
    assert "multi_dot" not in out and "optimal" in out


def test_every_time_and_ratio_is_printed_with_its_interval(capsys):
    status, out, _ = run(capsys, "20", "30", "5", "30", "20", "--peak-size", "8", "--repeats", "3")
    assert status == 0
    lines = out.splitlines()
    labels = {line.split(":  ", 1)[0].strip(): line.split(":  ", 1)[1] for line in lines if ":  " in line}
    assert "bootstrap" in labels["intervals"] and "no measurable difference" in labels["intervals"]
    assert "before the strategies" in labels["peak matmul rate"] and "after:" in labels["peak matmul rate"]
    rows = [line for line in lines if line.split()[:1] and line.split()[0] in ("fwd", "bwd", "optimal", "multi_dot")]
    assert len(rows) == 4
    for line in rows:
        assert line.count("[") >= 2 or "above peak" in line  # the median's interval, and the ratio's (or fastest)
        assert "%" not in line


def test_json_keeps_both_peak_measurements(capsys):
    import json

    status, out, _ = run(capsys, "20", "30", "5", *FAST, "--format", "json")
    data = json.loads(out)
    assert status == 0 and len(data["peak"]["seconds_before"]) == 6 and len(data["peak"]["seconds_after"]) == 6
    for row in data["summary"]:
        assert row["median_low_s"] <= row["median_s"] <= row["median_high_s"]
        assert (row["vs_fastest_verdict"] in {"fastest", "slower", "no measurable difference"}
                or row["vs_fastest_verdict"].startswith("lowest median; no measurable difference from "))

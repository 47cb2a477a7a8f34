"""``chainopt report``: runs experiments, shows progress on stderr, writes the README index."""

import io

import pytest
from figures import saving_figures

from chainopt.cli import main as cli_main
from chainopt.cli.reports import Progress


@pytest.mark.slow
def test_report_subset_writes_index_with_every_figure(tmp_path, capsys):
    status = cli_main(["report", "--quick", "--only", "notes_claim,dp_scaling", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0
    assert "[" in err and "2/2" in err  # the progress line reached the end
    index = (tmp_path / "README.md").read_text()
    assert "![The notes' claim: n_1 = 1 makes FWD optimal](notes_claim.png)" in index
    assert "(dp_scaling.png)" in index and "BLAS:" in index and "date:" in index
    for png in ("notes_claim.png", "dp_scaling.png"):
        assert (tmp_path / png).exists()
    assert "notes_claim:" in out and "dp_scaling:" in out
    # a later partial run keeps the earlier sections as they were, and says what it regenerated
    dp_section = index[index.index("## The exact DP"):].split("\n## ")[0].rstrip()
    assert cli_main(["report", "--quick", "--only", "notes_claim", "--out", str(tmp_path)]) == 0
    index = (tmp_path / "README.md").read_text()
    assert dp_section in index and "(dp_scaling.png)" in index
    assert "This run regenerated notes_claim; the other sections are kept from the previous index" in index
    # a page without a section in the previous index gets a link
    (tmp_path / "README.md").unlink()
    assert cli_main(["report", "--quick", "--only", "notes_claim", "--out", str(tmp_path)]) == 0
    assert "Not rerun this time; see [dp_scaling.md](dp_scaling.md)" in (tmp_path / "README.md").read_text()


def test_report_unknown_experiment_is_one_line_exit_2(tmp_path, capsys):
    assert cli_main(["report", "--only", "crossover,nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown experiment 'nope'" in err
    assert not any(tmp_path.iterdir())  # nothing ran


def test_progress_line_without_a_terminal():
    stream = io.StringIO()
    progress = Progress(4, stream=stream)
    progress("starting")
    progress.advance("one done")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[------------------------] 0/4") and lines[0].endswith("starting")
    assert lines[1].startswith("[######------------------] 1/4")


def test_experiment_scripts_share_one_command_line(tmp_path, capsys):
    from chainopt.experiments import notes_claim, run_script

    with saving_figures(False, notes_claim):  # its figure: test_experiment_notes_claim draws it (-m slow)
        assert run_script("notes_claim", argv=["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "FWD was optimal" in out and f"wrote {tmp_path / 'notes_claim.md'}" in out
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert run_script("notes_claim", argv=["--quick", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not a folder" in err


def test_every_experiment_has_a_script():
    from pathlib import Path

    from chainopt.experiments import EXPERIMENTS

    scripts = Path(__file__).resolve().parents[1] / "experiments"
    for name, (module, _, _) in EXPERIMENTS.items():
        script = scripts / f"{module.rsplit('.', 1)[1]}.py"
        assert script.exists(), script
        assert f'run_script("{name}"' in script.read_text()

"""compare() and the cost report in every format."""

import csv
import io
import json
import re

import pytest

import chainopt as co
from chainopt.report.render import markdown_table

HOURGLASS = [100, 1000, 10, 1000, 100]


def test_compare_has_one_row_per_strategy_with_exact_costs():
    df = co.compare(HOURGLASS)
    assert list(df["strategy"]) == ["fwd", "bwd", "optimal"]
    assert list(df["cost"]) == [12_000_000, 12_000_000, 2_100_000]
    assert list(df["ratio"]) == pytest.approx([12 / 2.1, 12 / 2.1, 1.0], abs=1e-4)
    assert list(df["plan"]) == ["A4 (A3 (A2 A1))", "((A4 A3) A2) A1", "(A4 A3) (A2 A1)"]
    assert list(df["peak_memory"]) == [110_000, 110_000, 12_000]
    assert str(df["cost"].dtype) == "int64"


def test_compare_keeps_exact_python_ints_beyond_int64():
    dims = [10**7] * 4
    df = co.compare(dims)
    assert df["cost"].dtype == object
    assert df["cost"].tolist() == [2 * 10**21] * 3
    assert all(type(v) is int for v in df["cost"])


def test_compare_accepts_other_strategies():
    df = co.compare([3, 5, 2, 6], strategies=["brute", "fwd"])
    assert list(df["strategy"]) == ["brute", "fwd"]


def test_text_report_header_and_steps():
    text = co.cost_report(HOURGLASS).to_text()
    lines = text.splitlines()
    assert lines[0].strip() == "chain:  100 -> 1000 -> 10 -> 1000 -> 100  (4 factors)"
    assert "Jacobian:  100 x 100, square" in text
    assert "FWD cost:  12,000,000" in text and "BWD cost:  12,000,000" in text
    assert "optimal cost:  2,100,000" in text
    assert "tie: FWD and BWD cost the same" in text
    assert "5.71x over both pure modes" in text
    assert "optimal plan:  (A4 A3) (A2 A1)" in text
    # header labels are right-aligned: every colon in the header block lines up
    header = lines[: lines.index(next(line for line in lines if line.startswith("---")))]
    assert len({line.index(":") for line in header}) == 1
    assert lines[-1].split()[-2:] == ["100,000", "2,100,000"]


def test_text_report_for_a_wide_chain_names_bwd():
    text = co.cost_report([784, 512, 256, 10, 1]).to_text()
    assert "1 x 784, wide" in text
    assert "better pure mode:  BWD, 195.83x cheaper than the other" in text
    assert "((A4 A3) A2) A1" in text


def test_report_for_another_strategy_shows_its_cost_against_the_optimum():
    text = co.cost_report(HOURGLASS, "fwd").to_text()
    assert "fwd plan:  A4 (A3 (A2 A1))" in text
    assert "fwd cost:  12,000,000 (5.71x optimal)" in text


def test_single_factor_chain_report():
    text = co.cost_report([3, 4]).to_text()
    assert "no product needed" in text and "FWD cost:  0" in text


def test_long_chain_step_table_is_cut_with_a_note():
    text = co.cost_report([7] * 101).to_text(max_steps=10)
    assert "... 89 more steps" in text
    assert len(co.cost_report([7] * 101).to_text(max_steps=None).splitlines()) > 100


def test_json_keeps_exact_ints():
    big = [10**7, 10**7 + 1, 10**7 + 2, 10**7 + 3]
    data = json.loads(co.cost_report(big).to_json())
    assert data["fwd_cost"] == co.fwd_cost(big) and data["fwd_cost"] > 2**63
    assert data["chain"] == big and data["jacobian_shape"] == [10**7 + 3, 10**7]
    assert data["plan"]["cost"] == co.plan(big, "optimal").cost
    assert [row["strategy"] for row in data["strategies"]] == ["fwd", "bwd", "optimal"]
    assert data["strategies"][0]["cost"] == co.fwd_cost(big)
    assert sum(step["cost"] for step in data["plan"]["steps"]) == data["optimal_cost"]


def test_csv_is_the_strategy_table():
    rows = list(csv.DictReader(io.StringIO(co.cost_report(HOURGLASS).to_csv())))
    assert [r["strategy"] for r in rows] == ["fwd", "bwd", "optimal"]
    assert [int(r["cost"]) for r in rows] == [12_000_000, 12_000_000, 2_100_000]
    assert rows[0]["chain"] == "100,1000,10,1000,100"


def test_markdown_has_three_tables():
    md = co.cost_report(HOURGLASS).format("markdown")
    rules = [line for line in md.splitlines() if re.fullmatch(r"\|(:?---:?\|)+", line)]
    assert len(rules) == 3
    assert "| optimal | 2100000 |" in md


def test_unknown_format_is_an_error():
    with pytest.raises(co.ChainoptError, match="unknown format 'xml'; choose one of: text, markdown, csv, json"):
        co.cost_report(HOURGLASS).format("xml")


def test_markdown_table_escapes_pipes_and_aligns_numbers():
    md = markdown_table([{"name": "a|b", "n": 3}])
    assert md.splitlines() == ["| name | n |", "|:---|---:|", "| a\\|b | 3 |"]
    assert markdown_table([]) == ""


def test_json_says_tie_when_fwd_and_bwd_cost_the_same():
    data = json.loads(co.cost_report(HOURGLASS).to_json())
    assert data["better_pure_mode"] == "tie"
    assert json.loads(co.cost_report([784, 512, 256, 10, 1]).to_json())["better_pure_mode"] == "bwd"
    assert json.loads(co.cost_report([1, 10, 100, 1000]).to_json())["better_pure_mode"] == "fwd"


def test_the_optimum_is_computed_once_per_report(monkeypatch):
    import chainopt.report.cost as report_module

    calls = []
    real = report_module.make_plan
    monkeypatch.setattr(report_module, "make_plan", lambda chain, name: calls.append(name) or real(chain, name))
    report = co.cost_report(HOURGLASS)
    report.to_json()
    report.to_text()
    assert sorted(calls) == ["bwd", "fwd", "optimal"]


# -- the one renderer ------------------------------------------------------------------


def test_csv_keeps_costs_beyond_int64_exact():
    big = [10**7, 10**7 + 1, 10**7 + 2, 10**7 + 3]
    rows = list(csv.DictReader(io.StringIO(co.cost_report(big).to_csv())))
    assert [int(r["cost"]) for r in rows] == [co.fwd_cost(big), co.bwd_cost(big), co.plan(big).cost]
    assert co.fwd_cost(big) > 2**63 and "e+" not in rows[0]["cost"]


def test_json_writes_null_for_nan_and_infinity_and_plain_numbers_for_numpy_scalars():
    import numpy as np

    from chainopt.report.render import to_json

    text = to_json({"a": np.int64(2**62), "b": [float("nan"), float("inf"), np.float32(0.5)], "c": (1, 2)})
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": 2**62, "b": [None, None, 0.5], "c": [1, 2]}


def test_text_view_header_rule_and_aligned_table():
    from chainopt.report.render import Column, Document, Table, render

    doc = Document(header=[("a", "1"), ("long label", "2")],
                   tables=[Table([{"k": "x", "n": 1000}, {"k": "yy", "n": 5}], (Column("k"), Column("n", fmt=",")))])
    assert render(doc, "text").splitlines() == [
        "         a:  1",
        "long label:  2",
        "-" * 14,
        "k       n",
        "-" * 14,
        "x   1,000",
        "yy      5",
    ]


def test_text_view_rule_not_stretched_by_a_long_header_value():
    from chainopt.report.render import RULE_CAP, Column, Document, Table, render

    chain = " -> ".join(["99"] * 100)  # 696 characters, as bench prints a 100-factor chain
    doc = Document(header=[("chain", chain)], tables=[Table([{"k": "x", "n": 1}], (Column("k"), Column("n")))])
    lines = render(doc, "text").splitlines()
    assert lines[0] == f"chain:  {chain}"
    assert lines[1] == lines[3] == "-" * RULE_CAP
    wide = Table([{"k": "x" * 150, "n": 1}], (Column("k"), Column("n")))
    assert render(Document(header=[("chain", chain)], tables=[wide]), "text").splitlines()[1] == "-" * (150 + 2 + 1)


@pytest.mark.parametrize("make", [
    lambda: co.cost_report(HOURGLASS),
    lambda: __import__("chainopt.report.sweep", fromlist=["x"]).sweep_report("notes1", {"x": 2.0}),
    lambda: __import__("chainopt.report.sweep", fromlist=["x"]).jacobian_report("chain:3,4,2", activation=None),
    lambda: co.cost_report(HOURGLASS, machines=2),
    lambda: co.cost_report(co.layers.mlp([4, 3, 2]).factors(), memory_limit=0, machines=None),
])
def test_every_report_renders_every_format_and_refuses_others_alike(make):
    report = make()
    for fmt in ("text", "markdown", "csv", "json"):
        assert report.format(fmt) == getattr(report, "to_" + fmt)()
    assert json.loads(report.to_json()) == json.loads(json.dumps(report.to_dict()))
    assert list(csv.DictReader(io.StringIO(report.to_csv())))
    with pytest.raises(co.ChainoptError, match="unknown format 'xml'; choose one of: text, markdown, csv, json"):
        report.format("xml")


def test_markdown_of_a_long_chain_keeps_the_bracketings_short_but_csv_has_them_whole():
    dims = [3, 5, 2, 7] * 30
    report = co.cost_report(dims)
    md = report.to_markdown()
    assert "| fwd |" in md and "(long)" in md and str(co.plan(dims, "fwd")) not in md
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["plan"] for r in rows] == [str(co.plan(dims, name)) for name in ("fwd", "bwd", "optimal")]

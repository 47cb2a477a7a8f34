"""``chainopt sweep``: the notes' tables, every format, the Jacobian cost report, one-line errors."""

import csv
import io
import json
import math
import tracemalloc

import numpy as np
import pytest
from cli_processes import run_cli_together

import chainopt as co
from chainopt.autodiff.layered import MAX_SWEEP_MADDS, chain_sweep_needs, layered_function
from chainopt.cli import main
from chainopt.errors import ChainoptError, MemoryBudgetError
from chainopt.report.sweep import jacobian_report, sweep_report


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def section(out, title):
    """The rows of the text table whose title starts with ``title``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 4:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def test_notes1_prints_graph_sweeps_and_derivative(capsys):
    status, out, err = run(capsys, "sweep", "notes1", "--at", "x=2")
    assert status == 0 and err == ""
    assert "derivative:  dp/dx = 0.800280602197" in out and "value:  p = 1.52570179172" in out
    graph = section(out, "graph (")
    assert [r[0] for r in graph] == ["x", "y", "z", "p"] and graph[1][1] == "log(x)"
    tangent = {r[0]: float(r[-1]) for r in section(out, "tangent sweep,")}
    adjoint = {r[0]: float(r[-1]) for r in section(out, "adjoint sweep,")}
    assert tangent["y"] == pytest.approx(0.5) and tangent["p"] == pytest.approx(0.800280602197)
    assert [r[0] for r in section(out, "adjoint sweep,")] == ["p", "z", "y", "x"]  # k = N..1, as the notes
    assert adjoint["y"] == pytest.approx(1 + 1 / (2 * math.sqrt(math.log(2)))) and adjoint["x"] == tangent["p"]


def test_notes2_matches_the_golden_values(capsys):
    status, out, _ = run(capsys, "sweep", "notes2", "--at", "x=1.5")
    assert status == 0
    assert "value:  f = -0.415021820604" in out and "derivative:  df/dx = -1.34250084076" in out
    assert [r[0] for r in section(out, "graph (")] == list("xyznstuf")


def test_the_issue_expression_and_json_give_the_same_data(capsys):
    _, text, _ = run(capsys, "sweep", "log(x) + sqrt(log(x))", "--at", "x=2")
    status, out, _ = run(capsys, "sweep", "log(x) + sqrt(log(x))", "--at", "x=2", "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["at"] == {"x": 2.0}
    assert data["derivatives"]["f"]["x"] == pytest.approx(0.8002806021972)
    assert [n["node"] for n in data["nodes"]] == ["x", "v1", "v2", "f"]
    assert data["nodes"][1]["value"] == pytest.approx(math.log(2.0), rel=1e-15)
    assert data["nodes"][1]["sons"] == ["v2", "f"]
    assert data["outputs"]["f"] == pytest.approx(math.log(2.0) + math.sqrt(math.log(2.0)), rel=1e-15)
    assert data["nodes"][3]["dx_k/dx"] == pytest.approx(data["derivatives"]["f"]["x"], rel=1e-15)
    assert data["nodes"][0]["df/dx_k"] == data["derivatives"]["f"]["x"] and data["nodes"][3]["df/dx_k"] == 1.0
    assert "df/dx = 0.800280602197" in text


def test_several_inputs_and_outputs(capsys):
    status, out, _ = run(capsys, "sweep", "x*y, sin(x)", "--at", "x=1,y=2", "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert data["derivatives"] == {"f1": {"x": 2.0, "y": 1.0}, "f2": {"x": pytest.approx(math.cos(1)), "y": 0.0}}
    assert [s["seed"] for s in data["tangent_sweeps"]] == ["x", "y"] and len(data["adjoint_sweeps"]) == 2


def test_repeated_at_flags_and_gradient(capsys):
    status, out, _ = run(capsys, "sweep", "x**2 * y + exp(y)", "--at", "x=3", "--at", "y=0")
    assert status == 0 and "df/dx = 0, df/dy = 10" in out


@pytest.mark.parametrize("fmt", ["markdown", "csv"])
def test_other_formats(capsys, fmt):
    status, out, _ = run(capsys, "sweep", "notes1", "--at", "x=2", "--format", fmt)
    assert status == 0
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["node"] for r in rows] == ["x", "y", "z", "p"]
        assert float(rows[0]["dp/dx_k"]) == pytest.approx(0.8002806021972)
        assert float(rows[3]["dx_k/dx"]) == pytest.approx(0.8002806021972)
    else:
        assert "| node | definition | value |" in out and "| p | y + z |" in out


def test_jacobian_of_an_expression(capsys):
    status, out, _ = run(capsys, "sweep", "x*y, sin(x), x+y", "--at", "x=1,y=2", "--jacobian")
    assert status == 0 and "Jacobian:  3 x 2, tall" in out and "chain model: needs a layered function" in out
    status, out, _ = run(capsys, "sweep", "x*y, sin(x), x+y", "--at", "x=1,y=2", "--jacobian", "-f", "json")
    jac = json.loads(out)["jacobian"]
    assert np.allclose(jac["jacobian"], [[2, 1], [math.cos(1), 0], [1, 1]])
    assert jac["max_abs_difference_fwd_bwd"] == 0.0


def test_jacobian_of_a_layered_chain_states_both_conventions(capsys):
    status, out, _ = run(capsys, "sweep", "chain:4,8,3,1", "--jacobian")
    assert status == 0
    assert "counted = model:  yes" in out and "identity seed" in out and "Jacobians given" in out
    assert "BWD (adjoint), 4.00x cheaper" in out
    status, out, _ = run(capsys, "sweep", "chain:4,8,3,1", "--activation", "none", "--format", "json")
    rows = {r["quantity"]: r for r in json.loads(out)["costs"]}
    dims = [4, 8, 3, 1]
    assert rows["counted by the sweeps"]["fwd"] == co.tangent_sweep_cost(dims) == 236
    assert rows["counted by the sweeps"]["bwd"] == co.adjoint_sweep_cost(dims) == 59
    assert rows["chain model FWD / BWD"]["fwd"] == co.fwd_cost(dims) and rows["activations"]["fwd"] == 0


def test_layered_report_jacobian_matches_the_product_of_layer_jacobians():
    _, x0, layers = layered_function([3, 5, 2], activation="tanh", seed=1)
    r = jacobian_report("chain:3,5,2", activation="tanh", seed=1)
    (W1, b1), W2 = (layers[0].W, layers[0].b), layers[1].W
    expected = W2 @ np.diag(1 - np.tanh(W1 @ x0 + b1) ** 2) @ W1
    assert np.allclose(r.matrix, expected) and r.mismatch < 1e-12
    assert sum(r.fwd_madds) == 3 * (15 + 10 + 5) and sum(r.bwd_madds) == 2 * (15 + 10 + 5)


@pytest.mark.parametrize("dims, activation, seed", [([3, 5, 2], "tanh", 1), ([4, 6, 6, 3], "sigmoid", 7),
                                                    ([2, 3, 4, 1], "softplus", 0), ([5, 4], "relu", 2)])
def test_a_layered_chain_is_the_mlp_of_the_same_dims_activation_and_seed(dims, activation, seed):
    """``chain:dims`` in sweep and ``co.layers.mlp(dims, activation, seed)`` in bench are one function.

    Compared at the seeded point: the value, and the whole Jacobian (n_N x n_1) by the
    graph's adjoint sweeps against the network's product of exact layer Jacobians.
    Neither puts an activation after the last dense layer; the chains differ only in
    that the mlp's Network.dims repeats each hidden width (its activations are factors).
    """
    f, x0, layers = layered_function(dims, activation=activation, seed=seed)
    net = co.layers.mlp(dims, activation, seed=seed)
    assert [layer.W.tolist() for layer in layers] == [layer.W.tolist() for layer in net.layers[::2]]
    assert [layer.b.tolist() for layer in layers] == [layer.b.tolist() for layer in net.layers[::2]]
    np.testing.assert_allclose(f(x0), net(x0), rtol=1e-13, atol=1e-15)
    by_sweeps = co.autodiff.jacobian(f, x0, mode="bwd").matrix
    np.testing.assert_allclose(by_sweeps, net.jacobian(x0), rtol=1e-12, atol=1e-14)
    assert net.dims == (dims[0], *[w for w in dims[1:-1] for _ in range(2)], dims[-1])


def test_library_report_reads_both_sweeps():
    r = sweep_report("notes2", {"x": 1.5})
    assert r.derivative("f", "x", by="tangent") == pytest.approx(r.derivative("f", "x", by="adjoint"), rel=1e-14)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["sweep", "x.real", "--at", "x=1"], "attribute access is not allowed: 'x.real'"),
        (["sweep", "import os", "--at", "x=1"], "import is not allowed"),
        (["sweep", "open(x)", "--at", "x=1"], "calling 'open' is not allowed"),
        (["sweep", "lambda: x", "--at", "x=1"], "lambda is not allowed"),
        (["sweep", "[x for x in y]", "--at", "x=1"], "comprehension is not allowed"),
        (["sweep", "log(x)"], "give the point to evaluate at"),
        (["sweep", "log(x)", "--at", "x=-1"], "is nan at x=-1"),
        (["sweep", "sqrt(x)", "--at", "x=0"], "not finite"),
        (["sweep", "x*q", "--at", "x=1"], "variable 'q' has no value"),
        (["sweep", "x", "--at", "x=one"], "not a number"),
        (["sweep", "chain:4,x", "--jacobian"], "whole numbers"),
        (["sweep", "chain:4", "--jacobian"], "at least 2 dims"),
        (["sweep", "chain:4,2", "--at", "x=1"], "takes no input values"),
        (["sweep", "chain:4,2", "--activation", "cosh"], "unknown activation 'cosh'"),
        (["sweep", "x", "--at", "x=1", "--format", "yaml"], "invalid choice: 'yaml'"),
        (["sweep", "x = 2*x", "--at", "x=1"], "assigning to 'x' is not allowed: 'x = 2*x'; 'x' is an input"),
        (["sweep", "y = x; y = 2*x", "--at", "x=1"], "'y' is already defined"),
        (["sweep", "x*2", "--at", "x=1", "--activation", "relu"], "--activation relu applies only to chain:"),
        (["sweep", "x*2", "--at", "x=1", "--budget", "1G"], "--budget 1G applies only to chain:"),
        (["sweep", "x*2", "--at", "x=1,y=2,z=3"], "inputs 'y', 'z' are not used by 'x*2'"),
        (["sweep", "+".join(["x"] * 100_000), "--at", "x=1"], "too long or too deeply nested for Python's own parser"),
        (["sweep", "x + 2**2**2**2**2**2", "--at", "x=1"], "the constant '2**2**2**2**2' overflows to inf"),
        (["sweep", "1e999*x", "--at", "x=1"], "the non-finite number is not allowed: '1e999'"),
        (["sweep", "--", "x*y", "--bogus"], "after EXPR: unrecognized arguments: --bogus"),
        (["sweep", "-x", "--at", "x=1"], "required: EXPR"),  # a bare -x looks like an option: needs --
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


HACK = "__import__('os').system('echo hacked')"


def check_hack_refused(bad):
    assert bad.returncode == 2 and bad.stdout == "" and "hacked" not in bad.stdout
    assert bad.stderr.count("\n") == 1 and "attribute access is not allowed" in bad.stderr


def test_subprocess_refusal():
    # a real process: a command the expression ran would print to its standard output, which capsys cannot see
    (bad,) = run_cli_together([(["sweep", HACK, "--at", "x=1"], None)], timeout=60)
    check_hack_refused(bad)


@pytest.mark.slow
def test_subprocess_sweep_and_refusal():
    """The golden values (checked in-process by test_notes2_matches_the_golden_values) through a real process too."""
    ok, bad = run_cli_together([(["sweep", "notes2", "--at", "x=1.5"], None), (["sweep", HACK, "--at", "x=1"], None)],
                               timeout=60)
    assert ok.returncode == 0 and "df/dx = -1.34250084076" in ok.stdout
    check_hack_refused(bad)


def test_help_mentions_the_examples(capsys):
    status, out, _ = run(capsys, "sweep", "--help")
    assert status == 0 and "notes1" in out and "notes2" in out and "chain:" in out


# -- expressions starting with a minus, and the header's wording --------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "--", "-x*y", "--at", "x=1,y=2"],
        ["sweep", "--at", "x=1,y=2", "--", "-x*y"],
        ["sweep", " -x*y", "--at", "x=1,y=2"],
        ["sweep", "--at", "x=1", "--", "-x*y", "--at", "y=2", "-f", "text"],
    ],
)
def test_an_expression_starting_with_a_minus(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 0 and err == ""
    assert "expression:  -x*y" in out and "derivatives:  df/dx = -2, df/dy = -1" in out


def test_help_shows_how_to_give_a_leading_minus(capsys):
    status, out, _ = run(capsys, "sweep", "--help")
    text = " ".join(out.split())
    assert status == 0 and 'chainopt sweep "-x*y" --at x=1,y=2' in text
    assert "chainopt sweep --at x=1 -- -x" in text


def test_sweep_costs_that_differ_are_listed_per_seed_not_as_a_fraction(capsys):
    status, out, _ = run(capsys, "sweep", "x*y + sin(x)", "--at", "x=1,y=2")
    assert status == 0 and "1/2" not in out
    assert "tangent sweeps:  2 (one per input), 2 and 1 multiply-adds for x and y" in out
    assert "adjoint sweeps:  1 (one per output), 3 multiply-adds each" in out
    _, out, _ = run(capsys, "sweep", "-f", "json", "--", "x*y + sin(x)", "--at", "x=1,y=2")
    assert [s["multiply_adds"] for s in json.loads(out)["tangent_sweeps"]] == [2, 1]


# -- chain:... is refused before anything is built when it is too big ---------------------------


def test_a_huge_chain_is_refused_at_once_naming_needed_and_allowed_bytes(capsys, monkeypatch):
    import chainopt.report.sweep

    def never(*args, **kwargs):
        raise AssertionError("the layered function was built before the size check")

    monkeypatch.setattr(chainopt.report.sweep, "layered_function", never)
    status, out, err = run(capsys, "sweep", "chain:30000,30000,30000", "--budget", "1G")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "would need 43,217,792,768 bytes" in err and "14,400,480,000 for the inputs" in err  # 2*30000*30001*8
    assert "the budget allows 1,073,741,824 bytes" in err
    status, out, err = run(capsys, "sweep", "chain:30000,30000,30000")  # the default budget, or the work limit
    assert status == 2 and ("bytes" in err or "multiply-adds" in err)


def test_a_chain_over_the_work_limit_is_refused_naming_the_limit():
    _, madds = chain_sweep_needs([2000, 2000, 2000])
    assert madds == 2000 * 2 * 2000 * 2000 * 2 + 2 * 2000 * 2000 > MAX_SWEEP_MADDS
    message = r"32,008,000,000 multiply-adds .* at most 2,000,000,000 \(chainopt.autodiff.layered.MAX_SWEEP_MADDS\)"
    with pytest.raises(ChainoptError, match=message):
        jacobian_report("chain:2000,2000,2000", budget=2**40)
    with pytest.raises(MemoryBudgetError, match="budget allows 1,000 bytes"):
        jacobian_report("chain:4,8,3,1", budget=1000)


@pytest.mark.parametrize("dims, activation", [([60, 90, 30], "tanh"), ([40, 5, 5, 120], None), ([300, 3, 1], "tanh")])
def test_the_chain_estimate_is_the_counted_work_and_bounds_the_measured_memory(dims, activation):
    est, madds = chain_sweep_needs(dims, activation=activation)
    source = "chain:" + ",".join(map(str, dims))
    jacobian_report(source, activation=activation)  # warm caches so only the report's own memory is traced
    tracemalloc.start()
    try:
        r = jacobian_report(source, activation=activation)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(r.fwd_madds) + sum(r.bwd_madds) == madds
    assert peak <= est.total <= 1.5 * peak


def test_out_of_memory_message_suggests_no_option_the_command_lacks(capsys, monkeypatch):
    import chainopt.report.sweep

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(chainopt.report.sweep, "sweep_report", exhausted)
    status, out, err = run(capsys, "sweep", "x*2", "--at", "x=1")
    assert status == 2 and out == "" and "out of memory" in err and "--" not in err

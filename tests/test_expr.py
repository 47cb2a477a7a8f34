"""The safe expression parser: what it accepts, what it refuses (naming it), and the graphs it builds."""

import ast
import math

import numpy as np
import pytest
from fewer_examples import fewer_examples, slow_twin
from hypothesis import given
from hypothesis import strategies as st

from chainopt.autodiff.expr import EXAMPLES, evaluate, parse, parse_point
from chainopt.autodiff.syntax import quote
from chainopt.errors import ExpressionError, NonFiniteError


def table(ev):
    return [(ev.names[n], ev.definitions[n]) for n in ev.shown]


def links(ev):
    return {ev.names[n]: ([ev.names[a] for a in ev.fate[n]], [ev.names[s] for s in ev.sons[n]]) for n in ev.shown}


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, kind, part",
    [
        ("x.real", "attribute access", "x.real"),
        ("__import__('os').system('ls')", "attribute access", "__import__('os').system"),
        ("import os", "import", "import os"),
        ("from os import path", "import", "from os import path"),
        ("open('f')", "calling 'open'", "open('f')"),
        ("eval('1')", "calling 'eval'", "eval('1')"),
        ("__import__('os')", "calling '__import__'", "__import__('os')"),
        ("lambda: 1", "lambda", "lambda: 1"),
        ("(lambda y: y)(x)", "lambda", "lambda y: y"),
        ("[x for x in (1, 2)]", "comprehension", "[x for x in (1, 2)]"),
        ("sum(x for x in (1,))", "calling 'sum'", "sum(x for x in (1,))"),
        ("x[0]", "subscript", "x[0]"),
        ("x < 1", "comparison", "x < 1"),
        ("x and 1", "boolean operator", "x and 1"),
        ("x if x else 1", "conditional expression", "x if x else 1"),
        ("(y := x)", "assignment expression", "y := x"),
        ("x ^ 2", "operator ^", "x ^ 2"),
        ("x // 2", "operator //", "x // 2"),
        ("x % 2", "operator %", "x % 2"),
        ("~x", "operator ~", "~x"),
        ("'a' + x", "constant 'a'", "'a'"),
        ("True * x", "constant True", "True"),
        ("1j * x", "constant 1j", "1j"),
        ("sin(x, 2)", "sin with 2 argument(s)", "sin(x, 2)"),
        ("sin(x=1)", "sin with 0 argument(s) and 1 keyword(s)", "sin(x=1)"),
        ("sin(*x)", "starred argument", "*x"),
        ("log + 1", "using the function 'log'", "log"),
        ("(x, (x, x))", "a tuple inside an expression", "(x, x)"),
        ("a = b = x", "an assignment to several targets", "a = b = x"),
        ("sin = x", "assigning to 'sin'", "sin = x"),
        ("x; x", "an expression before the last statement", "x"),
        ("def f(): pass", "function definition", "def f(): pass"),
        ("for i in x: pass", "loop", "for i in x: pass"),
        ("x += 1", "augmented assignment", "x += 1"),
        ("[x]", "list", "[x]"),
        ("f'{x}'", "f-string", "f'{x}'"),
        ("x = 2*x", "assigning to 'x'", "x = 2*x"),
        ("y = 2*x; x = y", "assigning to 'x'", "x = y"),
        ("y = x; y = 2*x", "assigning to 'y' again", "y = 2*x"),
        ("1e999 * x", "the non-finite number", "1e999"),
        ("x * 1" + "0" * 400, "the non-finite number", "1" + "0" * 400),
    ],
)
def test_refused_constructs_are_named(source, kind, part):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    message = str(info.value)
    assert kind in message and quote(part)[1:-1] in message  # long parts are elided, never echoed whole
    assert "\n" not in message


def test_refusal_happens_before_anything_runs(tmp_path):
    target = tmp_path / "touched"
    with pytest.raises(ExpressionError):
        evaluate(f"open({str(target)!r}, 'w')", {"x": 1.0})
    assert not target.exists()


@pytest.mark.parametrize("source, fragment", [("x +", "cannot parse"), ("", "empty"), ("  \n", "empty")])
def test_syntax_errors(source, fragment):
    with pytest.raises(ExpressionError, match=fragment):
        parse(source)


def test_a_too_deeply_nested_expression_is_a_clear_error_at_pythons_parse_limit():
    """Where the parser gives up depends on the interpreter (3.11 fails at ~3,000 terms, 3.13 at ~10,000):
    100,000 terms is past every supported one's limit, and the message names the input's size."""
    with pytest.raises(ExpressionError, match="too deeply nested") as info:
        parse("+".join(["x"] * 100_000))
    message = str(info.value)
    assert "Python's own parser" in message and "sys.getrecursionlimit()" in message and "199,999 characters" in message


def test_whitespace_around_lines_is_harmless():
    assert sorted(parse(" -x*y ").free_names) == ["x", "y"] and parse(" -x*y ").source == "-x*y"
    assert parse(" notes1 ").source == EXAMPLES["notes1"][0]
    ev = evaluate("\n   y = x**2\n   f = -y  \n", {"x": 3.0})
    assert table(ev) == [("x", "input"), ("y", "x ** 2"), ("f", "-y")] and ev.trace.outputs[0].value == -9.0


def test_an_assignment_to_an_input_or_a_defined_name_says_which():
    with pytest.raises(ExpressionError, match="'x' is an input"):
        evaluate("x = 2*x", {"x": 1.0})
    with pytest.raises(ExpressionError, match="'y' is already defined"):
        evaluate("y = x; y = 2*x", {"x": 1.0})


def test_unused_inputs_are_refused_by_name():
    with pytest.raises(ExpressionError, match="input 'y' is not used by 'x \\* 2'; give values only for its inputs: x"):
        evaluate("x * 2", {"x": 1.0, "y": 2.0})
    with pytest.raises(ExpressionError, match="inputs 'y', 'z' are not used"):
        evaluate("x * 2", {"x": 1.0, "y": 2.0, "z": 3.0})
    with pytest.raises(ExpressionError, match="no variables, so there is nothing to differentiate"):
        evaluate("2 ** 3", {"x": 1.0})


def test_a_constant_that_overflows_is_refused_by_name():
    with pytest.raises(NonFiniteError, match=r"the constant '2\*\*2\*\*2\*\*2\*\*2' overflows to inf"):
        evaluate("x + 2**2**2**2**2**2", {"x": 1.0})
    with pytest.raises(NonFiniteError, match=r"'0\.0 / 0\.0' is not defined: nan"):
        evaluate("x + 0.0 / 0.0", {"x": 1.0})


# 1,200 terms already pass the default recursion limit of 1,000; 2,500 (closer to the parser's limit) with -m slow
@pytest.mark.parametrize("n", [1200, pytest.param(2500, marks=pytest.mark.slow)])
def test_a_long_flat_sum_below_pythons_limit_folds_into_one_definition(n):
    """Thousands of folded nodes in one definition: no recursion (ast.unparse would hit the limit)."""
    ev = evaluate("f = " + " + ".join(["x"] * n), {"x": 1.0})
    (f,) = ev.trace.outputs
    assert ev.definitions[f] == " + ".join(["x"] * n) and f.value == n
    assert ev.trace.adjoint_sweep({f: 1.0})[ev.trace.inputs[0]] == n


def test_missing_and_bad_inputs():
    with pytest.raises(ExpressionError, match="variable 'y' has no value.*x=1,y=1"):
        evaluate("x * y", {"x": 1.0})
    with pytest.raises(NonFiniteError, match=r"log\(x\) is nan at x=-1"):
        evaluate("log(x)", {"x": -1.0})
    with pytest.raises(NonFiniteError, match=r"z = 1 / x is inf at x=0"):
        evaluate("z = 1 / x", {"x": 0.0})


# -- the point -------------------------------------------------------------------------------


def test_parse_point_reads_several_forms():
    assert parse_point(["x=2"]) == {"x": 2.0}
    assert parse_point(["x=1,y=2", " z = -3e-1 "]) == {"x": 1.0, "y": 2.0, "z": -0.3}
    assert parse_point([]) == {}


@pytest.mark.parametrize(
    "words, fragment",
    [
        (["x"], "not of the form name=value"),
        (["1x=2"], "not of the form name=value"),
        (["x=two"], "'two': the value is not a number"),
        (["x=1,x=2"], "'x' is given twice"),
        (["log=1"], "'log' is a built-in"),
        (["pi=3"], "'pi' is a built-in"),
        (["x=nan"], "must be finite"),
        (["x=inf"], "must be finite"),
    ],
)
def test_parse_point_refuses(words, fragment):
    with pytest.raises(ExpressionError if "finite" not in fragment else NonFiniteError, match=fragment):
        parse_point(words)


# -- the graphs -------------------------------------------------------------------------------


def test_equal_subexpressions_share_one_node_as_in_the_notes_graph():
    ev = evaluate("log(x) + sqrt(log(x))", {"x": 2.0})
    assert table(ev) == [("x", "input"), ("v1", "log(x)"), ("v2", "sqrt(v1)"), ("f", "v1 + v2")]
    assert links(ev)["v1"] == (["x"], ["v2", "f"])


def test_notes1_uses_the_notes_node_names():
    ev = evaluate("notes1", {"x": 2.0})
    assert table(ev) == [("x", "input"), ("y", "log(x)"), ("z", "sqrt(y)"), ("p", "y + z")]
    assert ev.trace.outputs[0].value == pytest.approx(math.log(2) + math.sqrt(math.log(2)))


def test_notes2_graph_has_the_notes_nodes_fate_and_son():
    """The notes' graph line, with the node s = n/y they use but do not draw."""
    ev = evaluate("notes2", {"x": 1.5})
    assert [name for name, _ in table(ev)] == list("xyznstuf")
    assert dict(table(ev))["z"] == "sqrt(y + 1)" and dict(table(ev))["n"] == "log(x + z)"
    assert links(ev) == {
        "x": ([], ["y", "n"]),
        "y": (["x"], ["z", "s"]),
        "z": (["y"], ["n", "u"]),
        "n": (["x", "z"], ["s", "t"]),
        "s": (["n", "y"], ["f"]),
        "t": (["n"], ["u"]),
        "u": (["t", "z"], ["f"]),
        "f": (["s", "u"], []),
    }
    assert ev.trace.outputs[0].value == pytest.approx(-0.41502182, abs=5e-9)


def test_all_nodes_shows_the_folded_ones():
    ev = evaluate("notes2", {"x": 1.5}, all_nodes=True)
    names = [name for name, _ in table(ev)]
    assert len(names) == 10 and "v1" in names and dict(table(ev))["z"] == "sqrt(v1)"


def test_tuples_give_several_outputs_and_constants_fold():
    ev = evaluate("x * y, sin(x) + 2 * pi", {"x": 1.0, "y": 2.0})
    assert [ev.names[y] for y in ev.trace.outputs] == ["f1", "f2"]
    assert ev.trace.outputs[1].value == pytest.approx(math.sin(1) + 2 * math.pi)
    const = evaluate("x, 2 ** 3 + e", {"x": 1.0})
    assert const.trace.outputs[1].value == pytest.approx(8 + math.e) and const.trace.outputs[1].op == "const"


def test_allowed_unused_inputs_are_still_inputs_and_names_never_collide():
    ev = evaluate("f = x * 2; x * f", {"x": 1.0, "y": 5.0}, allow_unused=True)
    assert [ev.names[n] for n in ev.trace.inputs] == ["x", "y"]
    assert ev.names[ev.trace.outputs[0]] == "f_2"


def test_examples_are_valid_programs():
    for name, (program, description) in EXAMPLES.items():
        assert parse(name).source == program and parse(program).free_names == ("x",) and description


# -- random expressions: both sweeps against central differences -------------------------------

SAFE_UNARY = ["sin({})", "cos({})", "tanh({})", "sigmoid({})", "softplus({})", "exp(-({})**2)",
              "log(1 + ({})**2)", "sqrt(2 + sin({}))", "asinh({})", "-({})"]
BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (2 + cos({}))", "({}) ** 2 * ({})"]

expressions = st.recursive(
    st.sampled_from(["x", "y", "1.5", "x"]),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(SAFE_UNARY), inner).map(lambda t: t[0].format(t[1])),
        st.tuples(st.sampled_from(BINARY), inner, inner).map(lambda t: t[0].format(t[1], t[2])),
    ),
    max_leaves=8,
)


POINTS = {"source": expressions, "x": st.floats(-2, 2), "y": st.floats(-2, 2)}


# 12 examples each here; the _thorough twins (-m slow) run 60
@fewer_examples(12)
@given(**POINTS)
def test_random_expressions_tangent_equals_adjoint_equals_finite_differences(source, x, y):
    ev = evaluate(source, {"x": x, "y": y}, allow_unused=True)
    (f,), (xn, yn) = ev.trace.outputs, ev.trace.inputs
    adjoint = ev.trace.adjoint_sweep({f: 1.0})
    for node, h_point in ((xn, (x + 1e-6, y, x - 1e-6, y)), (yn, (x, y + 1e-6, x, y - 1e-6))):
        tangent = ev.trace.tangent_sweep({node: 1.0})[f]
        assert tangent == pytest.approx(adjoint[node], rel=1e-9, abs=1e-12)
        up = evaluate(source, {"x": h_point[0], "y": h_point[1]}, allow_unused=True).trace.outputs[0].value
        down = evaluate(source, {"x": h_point[2], "y": h_point[3]}, allow_unused=True).trace.outputs[0].value
        assert tangent == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-5)
    assert np.isfinite(f.value)


test_random_expressions_tangent_equals_adjoint_equals_finite_differences_thorough = slow_twin(
    test_random_expressions_tangent_equals_adjoint_equals_finite_differences, **POINTS, max_examples=60)


variable_expressions = st.recursive(
    st.sampled_from(["x", "y"]),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(SAFE_UNARY), inner).map(lambda t: t[0].format(t[1])),
        st.tuples(st.sampled_from(BINARY), inner, inner).map(lambda t: t[0].format(t[1], t[2])),
    ),
    max_leaves=8,
).filter(lambda source: source not in ("x", "y"))


@fewer_examples(12)
@given(source=variable_expressions)
def test_folded_definitions_read_as_ast_unparse_writes_them(source):
    """The iterative renderer puts parentheses where Python's ast.unparse does."""
    ev = evaluate(f"f = {source}", {"x": 0.5, "y": 0.25}, allow_unused=True)
    assert ev.definitions[ev.trace.outputs[0]] == ast.unparse(ast.parse(source, mode="eval"))


test_folded_definitions_read_as_ast_unparse_writes_them_thorough = slow_twin(
    test_folded_definitions_read_as_ast_unparse_writes_them, source=variable_expressions, max_examples=60)

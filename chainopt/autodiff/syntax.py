"""The safe expression language: parsing and validating against a whitelist (never ``eval``).

An expression is parsed with Python's :mod:`ast` and checked: numbers,
variable names, ``+ - * / **``, unary ``-`` and ``+``, and calls of the
functions in :data:`FUNCTIONS` with one argument. Several outputs are a
tuple (``"x*y, x+y"``); assignments name the graph's nodes. Anything else is
refused with an :class:`~chainopt.errors.ExpressionError` naming it.
Evaluation into a graph is :mod:`chainopt.autodiff.expr`.
"""

from __future__ import annotations

import ast
import math
import sys
from dataclasses import dataclass

from chainopt.autodiff import graph
from chainopt.errors import ExpressionError, NonFiniteError

__all__ = ["BINOPS", "CONSTANTS", "EXAMPLES", "FUNCTIONS", "UNARYOPS", "Program", "parse", "parse_point"]

#: The functions an expression may call (each elementwise, one argument).
FUNCTIONS = {name: getattr(graph, name) for name in graph.ELEMENTWISE}

#: Named constants an expression may use.
CONSTANTS = {"pi": math.pi, "e": math.e}

#: Built-in examples: name -> (program, description). Node names follow the notes.
EXAMPLES = {
    "notes1": (
        "y = log(x); z = sqrt(y); p = y + z",
        "the notes' first example, p(x) = log x + sqrt(log x)",
    ),
    "notes2": (
        "y = x**2; z = sqrt(y + 1); n = log(x + z); s = n / y; t = n**3; u = t / z; f = s - u",
        "the notes' second example, f(x) = asinh(x)/x^2 - asinh(x)^3/sqrt(x^2+1)",
    ),
}

#: The binary operators an expression may use: ast operator type -> (symbol, graph function).
BINOPS = {ast.Add: ("+", graph.add), ast.Sub: ("-", graph.subtract), ast.Mult: ("*", graph.multiply),
           ast.Div: ("/", graph.divide), ast.Pow: ("**", graph.power)}
#: The unary operators: ast operator type -> (symbol, graph function).
UNARYOPS = {ast.USub: ("-", graph.negative), ast.UAdd: ("+", lambda a: a)}
_ALLOWED = "numbers, variables, + - * / **, unary -, and the functions " + ", ".join(FUNCTIONS)
_REFUSED = {
    ast.Attribute: "attribute access", ast.Import: "import", ast.ImportFrom: "import", ast.Lambda: "lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.Subscript: "subscript", ast.Compare: "comparison",
    ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression", ast.NamedExpr: "assignment expression",
    ast.Starred: "starred argument", ast.List: "list", ast.Dict: "dict", ast.Set: "set", ast.JoinedStr: "f-string",
    ast.FunctionDef: "function definition", ast.ClassDef: "class definition", ast.Delete: "del",
    ast.AugAssign: "augmented assignment", ast.For: "loop", ast.While: "loop", ast.If: "if statement",
    ast.With: "with statement", ast.Return: "return", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Raise: "raise", ast.Try: "try statement", ast.Await: "await", ast.Yield: "yield", ast.Slice: "slice",
}
_OPERATOR_SYMBOLS = {ast.BitXor: "^", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&",
                     ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}


@dataclass(frozen=True)
class Program:
    """A validated expression: assignments, then the outputs.

    Attributes
    ----------
    source : str
        The text as given, each line stripped of surrounding whitespace (an
        example's name is resolved to its program).
    statements : tuple of (str or None, ast.expr)
        ``(target, expression)`` pairs; the last has target ``None`` when the
        program ends in an expression rather than an assignment.
    free_names : tuple of str
        Variables read before any assignment, in order of first use: the inputs.
    """

    source: str
    statements: tuple
    free_names: tuple


def quote(text: str, limit: int = 80) -> str:
    """``repr(text)``, elided in the middle beyond ``limit`` characters: errors never echo a whole program.

    Examples
    --------
    >>> quote("x*y")
    "'x*y'"
    >>> quote("(" * 500 + "x" + ")" * 500)
    "'(((((((((((((((((((((((((((((((((((((((( ... 1,001 characters ... ))))))))))))))))))))))))))))))))))))))))'"
    """
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return repr(f"{text[: limit // 2]} ... {len(text):,} characters ... {text[-(limit // 2):]}")


def _refuse(what: str, node, source: str, hint: str = "") -> ExpressionError:
    segment = ast.get_source_segment(source, node) or type(node).__name__
    return ExpressionError(f"{what} is not allowed: {quote(segment)}; {hint or 'an expression may use ' + _ALLOWED}")


def _finite_number(value) -> bool:
    """Whether an int or float literal is a finite float (``1e999`` is inf; a 400-digit int overflows)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _check(node, source: str, top_tuple_ok: bool) -> None:
    """Raise for the first construct of ``node`` (walked iteratively) outside the whitelist."""
    for sub in ast.walk(node):
        kind = type(sub)
        if kind in (ast.Name, ast.Load, ast.Store, *BINOPS, *UNARYOPS):
            continue
        if kind is ast.Tuple and sub is node and top_tuple_ok:
            continue
        if kind is ast.Constant:
            if isinstance(sub.value, bool) or not isinstance(sub.value, (int, float)):
                raise _refuse(f"constant {quote(repr(sub.value))[1:-1]}", sub, source,
                              "only int and float numbers are allowed")
            if not _finite_number(sub.value):
                raise _refuse("the non-finite number", sub, source,
                              f"numbers must be finite floats (at most {sys.float_info.max:.6g} in size)")
        elif kind is ast.BinOp:
            if type(sub.op) not in BINOPS:
                symbol = _OPERATOR_SYMBOLS.get(type(sub.op), type(sub.op).__name__)
                hint = "write powers as x**2" if symbol == "^" else ""
                raise _refuse(f"operator {symbol}", sub, source, hint)
        elif kind is ast.UnaryOp:
            if type(sub.op) not in UNARYOPS:
                raise _refuse(f"operator {_OPERATOR_SYMBOLS.get(type(sub.op), '?')}", sub, source)
        elif kind is ast.Call:
            if not isinstance(sub.func, ast.Name):
                raise _refuse(_REFUSED.get(type(sub.func), "calling this"), sub.func, source)
            if sub.func.id not in FUNCTIONS:
                raise _refuse(f"calling {sub.func.id!r}", sub, source, f"the functions are {', '.join(FUNCTIONS)}")
            if sub.keywords or len(sub.args) != 1:
                raise _refuse(f"{sub.func.id} with {len(sub.args)} argument(s) and {len(sub.keywords)} keyword(s)",
                              sub, source, "each function takes exactly one argument")
        elif kind is ast.Tuple:
            raise _refuse(
                "a tuple inside an expression", sub, source, "only the last expression may be a tuple of outputs"
            )
        else:
            raise _refuse(_REFUSED.get(kind, kind.__name__), sub, source)


def parse(source: str) -> Program:
    r"""Parse and validate ``source`` (or the name of one of :data:`EXAMPLES`).

    Whitespace around each line is ignored (``" -x*y"`` is ``"-x*y"``). A
    name may be assigned once, and never an input's (a name read before it
    is assigned).

    Raises
    ------
    ExpressionError
        For a syntax error, any construct outside the whitelist, or an
        assignment to an input or to a name already assigned, naming it.

    Examples
    --------
    >>> parse("  y = x**2 \n f = -y ").free_names
    ('x',)
    >>> parse("x = 2*x")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.ExpressionError: assigning to 'x' is not allowed: 'x = 2*x'; 'x' is an input (it is read before it
        is assigned), so its value comes from the point: give the result a new name
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, got {type(source).__name__}")
    text = EXAMPLES[source.strip()][0] if source.strip() in EXAMPLES else source
    text = "\n".join(line.strip() for line in text.strip().splitlines())
    if not text:
        raise ExpressionError("the expression is empty")
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError as exc:
        if "integer string conversion" in exc.msg:  # Python's own limit on int literals, with advice for Python
            raise ExpressionError(
                f"a number in {quote(text)} has more than {sys.get_int_max_str_digits():,} digits; numbers must be "
                f"finite floats (at most {sys.float_info.max:.6g} in size, about 17 significant digits)"
            ) from None
        raise ExpressionError(f"cannot parse {quote(text)}: {exc.msg} at column {exc.offset}") from None
    except (RecursionError, MemoryError) as exc:
        raise ExpressionError(
            f"the expression ({len(text):,} characters) is too long or too deeply nested for Python's own parser: "
            f"ast.parse raised {type(exc).__name__}" + (f" ({exc})" if str(exc) else "")
            + f". That limit is Python's (it follows sys.getrecursionlimit(), {sys.getrecursionlimit()} here), "
            "not chainopt's; a sum or product of n terms nests n deep, so split it into named parts, "
            "e.g. a = x + ... ; b = x + ... ; f = a + b"
        ) from None
    statements, assigned, free = [], set(), []
    for i, stmt in enumerate(module.body):
        last = i == len(module.body) - 1
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, expr = stmt.targets[0].id, stmt.value
            if target in FUNCTIONS or target in CONSTANTS:
                raise _refuse(f"assigning to {quote(target)}", stmt, text,
                              "that name is a built-in function or constant")
        elif isinstance(stmt, ast.Expr) and last:
            target, expr = None, stmt.value
        elif isinstance(stmt, (ast.Assign, ast.Expr)):
            what = (
                "an assignment to several targets"
                if isinstance(stmt, ast.Assign)
                else "an expression before the last statement"
            )
            raise _refuse(what, stmt, text, "write assignments 'name = expression', then optionally the output")
        else:
            raise _refuse(_REFUSED.get(type(stmt), type(stmt).__name__), stmt, text)
        _check(expr, text, top_tuple_ok=target is None)
        callees = {id(c.func) for c in ast.walk(expr) if isinstance(c, ast.Call)}
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Name) and id(sub) not in callees:
                if sub.id in FUNCTIONS:
                    raise _refuse(f"using the function {sub.id!r} as a value", sub, text, f"call it, e.g. {sub.id}(x)")
                if sub.id not in assigned and sub.id not in CONSTANTS and sub.id not in free:
                    free.append(sub.id)
        if target in free:
            raise _refuse(f"assigning to {target!r}", stmt, text, f"{target!r} is an input (it is read before it is "
                          "assigned), so its value comes from the point: give the result a new name")
        if target in assigned:
            raise _refuse(f"assigning to {target!r} again", stmt, text,
                          f"{target!r} is already defined; each name is one node of the graph: use a new name")
        if target is not None:
            assigned.add(target)
        statements.append((target, expr))
    return Program(text, tuple(statements), tuple(free))


def parse_point(texts) -> dict[str, float]:
    """Input values from ``['x=2,y=3']``-style words (the CLI's ``--at``).

    Examples
    --------
    >>> parse_point(["x=2, y=-1.5", "z=1e-3"])
    {'x': 2.0, 'y': -1.5, 'z': 0.001}
    """
    point = {}
    for text in texts:
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, number = (s.strip() for s in part.partition("="))
            if not sep or not name.isidentifier():
                raise ExpressionError(f"input {quote(part)} is not of the form name=value, e.g. x=2")
            if name in FUNCTIONS or name in CONSTANTS:
                raise ExpressionError(f"input name {quote(name)} is a built-in function or constant; pick another name")
            if name in point:
                raise ExpressionError(f"input {quote(name)} is given twice ({point[name]} and {quote(number)[1:-1]})")
            try:
                value = float(number)
            except ValueError:
                raise ExpressionError(f"input {name}={quote(number)}: the value is not a number") from None
            if not math.isfinite(value):
                raise NonFiniteError(
                    f"input {name}={quote(number)[1:-1]}: the value must be finite (at most {sys.float_info.max:.6g})"
                )
            point[name] = value
    return point

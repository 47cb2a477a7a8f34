"""Safe arithmetic expressions, traced into a computational graph.

An expression is parsed with Python's :mod:`ast` and checked against a
whitelist (never ``eval``): numbers, variable names, ``+ - * / **``, unary
``-`` and ``+``, and calls of the functions in :data:`FUNCTIONS` with one
argument. Several outputs are a tuple (``"x*y, x+y"``). A small program of
assignments names the graph's nodes, as the notes do by hand::

    y = log(x); z = sqrt(y); p = y + z

Equal sub-expressions are computed once (``log(x) + sqrt(log(x))`` has one
``log`` node, as in the notes' graph). Anything else (attribute access,
imports, other calls, lambdas, comprehensions, subscripts, comparisons, ...)
is refused with an :class:`~chainopt.errors.ExpressionError` naming it.

Examples
--------
>>> ev = evaluate("notes1", {"x": 2.0})
>>> [(ev.names[n], ev.definitions[n]) for n in ev.shown]
[('x', 'input'), ('y', 'log(x)'), ('z', 'sqrt(y)'), ('p', 'y + z')]
>>> evaluate("x.real", {"x": 1.0})
Traceback (most recent call last):
...
chainopt.errors.ExpressionError: attribute access is not allowed: 'x.real'; an expression may use numbers, variables, + - * / **, unary -, and the functions log, exp, sqrt, sin, cos, tan, tanh, sigmoid, relu, softplus, asinh
"""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

import chainopt.autodiff.graph as graph
from chainopt.autodiff.sweeps import Trace, topological_order
from chainopt.errors import ExpressionError, NonFiniteError

__all__ = ["FUNCTIONS", "CONSTANTS", "EXAMPLES", "Program", "parse", "parse_point", "Evaluation", "evaluate"]

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

_BINOPS = {ast.Add: ("+", graph.add), ast.Sub: ("-", graph.subtract), ast.Mult: ("*", graph.multiply),
           ast.Div: ("/", graph.divide), ast.Pow: ("**", graph.power)}
_UNARYOPS = {ast.USub: ("-", graph.negative), ast.UAdd: ("+", lambda a: a)}
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


def _refuse(what: str, node, source: str, hint: str = "") -> ExpressionError:
    segment = ast.get_source_segment(source, node) or type(node).__name__
    return ExpressionError(f"{what} is not allowed: {segment!r}; {hint or 'an expression may use ' + _ALLOWED}")


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
        if kind in (ast.Name, ast.Load, ast.Store, *_BINOPS, *_UNARYOPS):
            continue
        if kind is ast.Tuple and sub is node and top_tuple_ok:
            continue
        if kind is ast.Constant:
            if isinstance(sub.value, bool) or not isinstance(sub.value, (int, float)):
                raise _refuse(f"constant {sub.value!r}", sub, source, "only int and float numbers are allowed")
            if not _finite_number(sub.value):
                raise _refuse("the non-finite number", sub, source,
                              f"numbers must be finite floats (at most {sys.float_info.max:.6g} in size)")
        elif kind is ast.BinOp:
            if type(sub.op) not in _BINOPS:
                symbol = _OPERATOR_SYMBOLS.get(type(sub.op), type(sub.op).__name__)
                hint = "write powers as x**2" if symbol == "^" else ""
                raise _refuse(f"operator {symbol}", sub, source, hint)
        elif kind is ast.UnaryOp:
            if type(sub.op) not in _UNARYOPS:
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
            raise _refuse("a tuple inside an expression", sub, source, "only the last expression may be a tuple of outputs")
        else:
            raise _refuse(_REFUSED.get(kind, kind.__name__), sub, source)


def parse(source: str) -> Program:
    """Parse and validate ``source`` (or the name of one of :data:`EXAMPLES`).

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
    >>> parse("  y = x**2 \\n f = -y ").free_names
    ('x',)
    >>> parse("x = 2*x")
    Traceback (most recent call last):
    ...
    chainopt.errors.ExpressionError: assigning to 'x' is not allowed: 'x = 2*x'; 'x' is an input (it is read before it is assigned), so its value comes from the point: give the result a new name
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
        raise ExpressionError(f"cannot parse {text!r}: {exc.msg} at column {exc.offset}") from None
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
                raise _refuse(f"assigning to {target!r}", stmt, text, "that name is a built-in function or constant")
        elif isinstance(stmt, ast.Expr) and last:
            target, expr = None, stmt.value
        elif isinstance(stmt, (ast.Assign, ast.Expr)):
            what = "an assignment to several targets" if isinstance(stmt, ast.Assign) else "an expression before the last statement"
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
                raise ExpressionError(f"input {part!r} is not of the form name=value, e.g. x=2")
            if name in FUNCTIONS or name in CONSTANTS:
                raise ExpressionError(f"input name {name!r} is a built-in function or constant; pick another name")
            if name in point:
                raise ExpressionError(f"input {name!r} is given twice ({point[name]} and {number})")
            try:
                value = float(number)
            except ValueError:
                raise ExpressionError(f"input {name}={number!r}: the value is not a number") from None
            if not math.isfinite(value):
                raise NonFiniteError(f"input {name}={number}: the value must be finite")
            point[name] = value
    return point


@dataclass(frozen=True, eq=False)
class Evaluation:
    """An expression evaluated at a point: the traced graph, with names for reports.

    Attributes
    ----------
    program : Program
        What was evaluated.
    trace : Trace
        The graph (inputs in the order given, outputs, evaluation order) for the sweeps.
    names : dict
        Node -> its name: input and assigned names, ``f`` (or ``f1, f2, ...``)
        for unnamed outputs, ``v1, v2, ...`` for other nodes.
    definitions : dict
        Node -> its definition in terms of shown nodes (``'input'`` for inputs).
    shown : tuple of Node
        The nodes a table lists: every node, or, when the program names its
        nodes by assignments, the named ones (the others are folded into the
        definitions that use them, as the notes write ``z = sqrt(y + 1)``).
    fate, sons : dict
        Node -> the shown nodes it uses / that use it (through folded nodes).
    """

    program: Program
    trace: Trace
    names: dict
    definitions: dict
    shown: tuple
    fate: dict
    sons: dict


def _children(node):
    if isinstance(node, ast.BinOp):
        return (node.left, node.right)
    if isinstance(node, ast.UnaryOp):
        return (node.operand,)
    if isinstance(node, ast.Call):
        return tuple(node.args)
    if isinstance(node, ast.Tuple):
        return tuple(node.elts)
    return ()


def _key(v):
    return ("node", id(v)) if isinstance(v, graph.Node) else ("const", float(v))


def _evaluate_expr(expr, env, memo, recipes, source):
    """Post-order evaluation with an explicit stack; equal sub-expressions share one node.

    A sub-expression of constants is folded to a number, which must be finite.
    """
    results, stack = {}, [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_children(node)))
            continue
        args = [results[id(c)] for c in _children(node)]
        if isinstance(node, ast.Constant):
            results[id(node)] = node.value
            continue
        if isinstance(node, ast.Name):
            results[id(node)] = env[node.id]
            continue
        if isinstance(node, ast.Tuple):
            results[id(node)] = tuple(args)
            continue
        if isinstance(node, ast.BinOp):
            (symbol, fn), shape = _BINOPS[type(node.op)], (ast.BinOp, node.op)
        elif isinstance(node, ast.UnaryOp):
            (symbol, fn), shape = _UNARYOPS[type(node.op)], (ast.UnaryOp, node.op)
        else:
            symbol, fn, shape = node.func.id, FUNCTIONS[node.func.id], (ast.Call, node.func.id)
        key = (symbol, *map(_key, args))
        if key not in memo:
            memo[key] = fn(*args)
            if not isinstance(memo[key], graph.Node) and not np.all(np.isfinite(memo[key])):
                segment = ast.get_source_segment(source, node) or ast.unparse(node)
                what = "overflows to" if np.any(np.isinf(memo[key])) else "is not defined:"
                raise NonFiniteError(f"the constant {segment!r} {what} {memo[key]}; numbers must stay finite "
                                     f"(at most {sys.float_info.max:.6g} in size)")
            if isinstance(memo[key], graph.Node) and memo[key] not in recipes:
                recipes[memo[key]] = (shape, args)
        results[id(node)] = memo[key]
    return results[id(expr)]


#: ``ast._Precedence`` values for the node kinds :func:`_render` builds (higher binds tighter).
_ARITH, _TERM, _FACTOR, _POWER, _AWAIT = 1, 2, 3, 4, 5
_BINOP_PRECEDENCE = {ast.Add: _ARITH, ast.Sub: _ARITH, ast.Mult: _TERM, ast.Div: _TERM, ast.Pow: _POWER}


def _unparse(tree) -> str:
    """``ast.unparse`` for the trees :func:`_render` builds, with an explicit stack.

    A definition folds every unnamed node below it, so a tree can be thousands
    of levels deep (``f = x + x + ... + x``): too deep for ``ast.unparse``'s
    recursion. Parentheses follow the same precedence rules.

    Examples
    --------
    >>> _unparse(ast.parse("(-x) ** 2 - (y - sin(x)) / 2 ** -y", mode="eval").body)
    '(-x) ** 2 - (y - sin(x)) / 2 ** (-y)'
    """
    out, stack = [], [(tree, 0)]
    while stack:
        node, context = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, ast.BinOp):
            precedence = _BINOP_PRECEDENCE[type(node.op)]
            left, right = (precedence + 1, precedence) if isinstance(node.op, ast.Pow) else (precedence, precedence + 1)
            parens = context > precedence
            stack += [(")", 0)] * parens + [(node.right, right), (f" {_BINOPS[type(node.op)][0]} ", 0), (node.left, left)]
            stack += [("(", 0)] * parens
        elif isinstance(node, ast.UnaryOp):
            parens = context > _FACTOR
            stack += [(")", 0)] * parens + [(node.operand, _FACTOR), (_UNARYOPS[type(node.op)][0], 0)] + [("(", 0)] * parens
        elif isinstance(node, ast.Call):
            stack.append((")", 0))
            for i, arg in enumerate(reversed(node.args)):
                stack += [(", ", 0)] * (i > 0) + [(arg, 0)]
            stack.append((f"{node.func.id}(", 0))
        elif isinstance(node, ast.Name):
            out.append(node.id)
        else:
            out.append(ast.unparse(node))
    return "".join(out)


def _render(recipe, names, folded):
    """The definition of a node: its operation on shown nodes' names and folded sub-expressions.

    ``recipe`` is ``((kind, op_or_name), args)``; every AST node is built complete
    (Python 3.13 deprecates omitting fields, 3.15 refuses it).
    """
    (kind, what), args = recipe
    parts = [_name(names[a]) if a in names else folded[a] if isinstance(a, graph.Node) else ast.Constant(value=a)
             for a in args]
    if kind is ast.BinOp:
        return ast.BinOp(left=parts[0], op=what, right=parts[1])
    if kind is ast.UnaryOp:
        return ast.UnaryOp(op=what, operand=parts[0])
    return ast.Call(func=_name(what), args=parts, keywords=[])


def _name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def evaluate(source, point: Mapping[str, float], *, all_nodes: bool = False, allow_unused: bool = False) -> Evaluation:
    """Parse ``source`` and trace it at ``point`` (input name -> value).

    With ``allow_unused=True``, names in ``point`` that the expression does
    not read are inputs all the same (their derivatives are zero).

    Raises
    ------
    ExpressionError
        For a refused construct, a variable without a value, or (unless
        ``allow_unused``) a value for a name the expression does not use.
    NonFiniteError
        If a node's value is NaN or infinite there (e.g. ``log`` of a negative
        number, or an overflow).

    Examples
    --------
    >>> evaluate("x * 2", {"x": 1.0, "y": 2.0})
    Traceback (most recent call last):
    ...
    chainopt.errors.ExpressionError: input 'y' is not used by 'x * 2'; give values only for its inputs: x
    """
    program = parse(source)
    missing = [name for name in program.free_names if name not in point]
    if missing:
        raise ExpressionError(
            f"variable {missing[0]!r} has no value; give every input a value, e.g. "
            + ",".join(f"{n}=1" for n in program.free_names)
        )
    unused = [name for name in point if name not in program.free_names]
    if unused and not allow_unused:
        listed = ", ".join(map(repr, unused))
        raise ExpressionError(
            f"input{'s' * (len(unused) > 1)} {listed} {'are' if len(unused) > 1 else 'is'} not used by "
            f"{program.source!r}; "
            + (f"give values only for its inputs: {', '.join(program.free_names)}" if program.free_names
               else "it has no variables, so there is nothing to differentiate")
        )
    inputs = tuple(graph.variable(v, name=name) for name, v in point.items())
    env = {**CONSTANTS, **{x.name: x for x in inputs}}
    memo, recipes, names = {}, {}, {x: x.name for x in inputs}
    with np.errstate(all="ignore"):
        for target, expr in program.statements:
            result = _evaluate_expr(expr, env, memo, recipes, program.source)
            if target is not None:
                env[target] = result
                if isinstance(result, graph.Node) and result not in names:
                    names[result] = target
    outputs = result if isinstance(result, tuple) else (result,)
    outputs = tuple(r if isinstance(r, graph.Node) else graph.constant(r) for r in outputs)
    taken = set(names.values()) | set(env)
    for i, y in enumerate(outputs, start=1):
        if y not in names:
            names[y] = _fresh("f" if len(outputs) == 1 else f"f{i}", taken)
    order = topological_order([*inputs, *outputs, *names])
    named_program = any(target is not None for target, _ in program.statements)
    shown = tuple(n for n in order if all_nodes or not named_program or n in names)
    count = 0
    for n in shown:
        if n not in names:
            count += 1
            names[n] = _fresh(f"v{count}", taken)
    folded, definitions = {}, {}
    shown_set = set(shown)
    shown_names = {k: v for k, v in names.items() if k in shown_set}
    for n in order:
        if n in recipes:
            folded[n] = _render(recipes[n], shown_names, folded)
        if n in shown_set or not np.all(np.isfinite(n.value)):
            definitions[n] = _unparse(folded[n]) if n in recipes else "input" if n.op == "input" else repr(n.value)
        if not np.all(np.isfinite(n.value)):
            raise NonFiniteError(
                f"{names.get(n, 'the sub-expression')} = {definitions[n]} is {n.value} at "
                + ", ".join(f"{k}={v:g}" for k, v in point.items())
                + "; the expression is not defined (or overflows) there"
            )
    fate, sons = _visible_links(order, shown_set)
    trace = Trace(inputs, outputs, len(outputs) == 1, tuple(order))
    return Evaluation(program, trace, names, {n: definitions[n] for n in shown}, shown, fate, sons)


def _fresh(name: str, taken: set) -> str:
    base, k = name, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def _visible_links(order, shown):
    """Fate and Son restricted to shown nodes, looking through folded ones (two passes, no recursion)."""
    through_args = {}
    for n in order:
        reach = []
        for a in n.fate:
            for b in ([a] if a in shown else through_args[a]):
                if b not in reach:
                    reach.append(b)
        through_args[n] = reach
    sons = {n: [] for n in order if n in shown}
    for n in order:
        if n in shown:
            for a in through_args[n]:
                sons[a].append(n)
    return {n: tuple(through_args[n]) for n in order if n in shown}, {n: tuple(s) for n, s in sons.items()}



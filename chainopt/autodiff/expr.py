"""Safe arithmetic expressions, traced into a computational graph.

An expression is parsed with Python's :mod:`ast` and checked against a
whitelist, never ``eval`` (:mod:`chainopt.autodiff.syntax`): numbers, variable
names, ``+ - * / **``, unary ``-`` and ``+``, and calls of the functions in
:data:`FUNCTIONS` with one argument. Several outputs are a tuple (``"x*y, x+y"``). A small program of
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
>>> evaluate("x.real", {"x": 1.0})  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
chainopt.errors.ExpressionError: attribute access is not allowed: 'x.real';
    an expression may use numbers, variables, + - * / **, unary -,
    and the functions log, exp, sqrt, sin, cos, tan, tanh, sigmoid, relu, softplus, asinh
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from chainopt.autodiff import graph
from chainopt.autodiff.sweeps import Trace, topological_order
from chainopt.autodiff.syntax import (
    BINOPS,
    CONSTANTS,
    EXAMPLES,
    FUNCTIONS,
    UNARYOPS,
    Program,
    parse,
    parse_point,
    quote,
)
from chainopt.errors import ExpressionError, NonFiniteError

__all__ = ["CONSTANTS", "EXAMPLES", "FUNCTIONS", "Evaluation", "Program", "evaluate", "parse", "parse_point"]


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
            (symbol, fn), shape = BINOPS[type(node.op)], (ast.BinOp, node.op)
        elif isinstance(node, ast.UnaryOp):
            (symbol, fn), shape = UNARYOPS[type(node.op)], (ast.UnaryOp, node.op)
        else:
            symbol, fn, shape = node.func.id, FUNCTIONS[node.func.id], (ast.Call, node.func.id)
        key = (symbol, *map(_key, args))
        if key not in memo:
            memo[key] = fn(*args)
            if not isinstance(memo[key], graph.Node) and not np.all(np.isfinite(memo[key])):
                segment = ast.get_source_segment(source, node) or ast.unparse(node)
                what = "overflows to" if np.any(np.isinf(memo[key])) else "is not defined:"
                raise NonFiniteError(f"the constant {quote(segment)} {what} {memo[key]}; numbers must stay finite "
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
            operator = f" {BINOPS[type(node.op)][0]} "
            stack += [(")", 0)] * parens + [(node.right, right), (operator, 0), (node.left, left)]
            stack += [("(", 0)] * parens
        elif isinstance(node, ast.UnaryOp):
            parens = context > _FACTOR
            stack += [(")", 0)] * parens + [(node.operand, _FACTOR), (UNARYOPS[type(node.op)][0], 0)]
            stack += [("(", 0)] * parens
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
    if missing and program.source.isidentifier() and program.free_names == (program.source,):
        raise ExpressionError(
            f"{quote(program.source)} is not a built-in example (those are: {', '.join(EXAMPLES)}); as an "
            f"expression it is one variable without a value: give it one, e.g. --at {program.source}=1"
        )
    if missing:
        raise ExpressionError(
            f"variable {quote(missing[0])} has no value; give every input a value, e.g. "
            + ",".join(f"{n}=1" for n in program.free_names[:10]) + (",..." if len(program.free_names) > 10 else "")
        )
    unused = [name for name in point if name not in program.free_names]
    assigned = [name for name in unused if name in {target for target, _ in program.statements}]
    if assigned:
        raise ExpressionError(
            f"assigning to {quote(assigned[0])} is not allowed: {quote(assigned[0])} is an input (the point gives "
            f"it the value {point[assigned[0]]}), so {quote(program.source)} may only read it: give the assigned "
            "value a new name"
        )
    if unused and not allow_unused:
        listed = ", ".join(map(quote, unused[:10])) + (", ..." if len(unused) > 10 else "")
        raise ExpressionError(
            f"input{'s' * (len(unused) > 1)} {listed} {'are' if len(unused) > 1 else 'is'} not used by "
            f"{quote(program.source)}; "
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



"""A plan's text: written as in mathematics, output side on the left, 1-based names.

``A3`` is the Jacobian of factor 3 as a matrix (given, or preaccumulated);
``F3`` is factor 3 applied matrix-free to its neighbour: on the left of an
operand it pushes that operand's columns through its tangent (TAN), on the
right it pulls the rows through its adjoint (ADJ). Juxtaposing two matrices
multiplies them (MUL). Every product of two operands is bracketed except the
outermost one:

==========================  =============================================
text                        meaning
==========================  =============================================
``A4 (A3 (A2 A1))``         forward mode on formed Jacobians
``(A4 A3) (A2 A1)``         an hourglass optimum
``F3 (F2 A1)``              the global tangent sweep: ``A1`` formed by
                            tangents, then ``F2``, ``F3`` applied to it
``(A3 F2) F1``              ``A3`` formed, then the adjoints of ``F2``, ``F1``
==========================  =============================================

Plans are stored as nodes ``{(lo, hi): (op, mid)}`` over 0-based inclusive
factor ranges (see :class:`chainopt.Plan`); this module turns nodes into text
and back, with loops only, so plans of any length work.
"""

from __future__ import annotations

import re

from chainopt.errors import PlanSyntaxError

__all__ = ["render", "parse_nodes", "range_label"]

Interval = tuple[int, int]


def range_label(lo: int, hi: int) -> str:
    """1-based name of the Jacobian of factors ``lo..hi`` (0-based), output side first.

    Examples
    --------
    >>> range_label(2, 2), range_label(0, 3)
    ('A3', 'A4..A1')
    """
    return f"A{lo + 1}" if lo == hi else f"A{hi + 1}..A{lo + 1}"


def render(nodes: dict, order, n_factors: int) -> str:
    """The text of a plan from its nodes and their execution order (children before parents).

    ``order`` lists ``(op, lo, mid, hi)`` for every MUL, TAN and ADJ node.
    Written by one walk over an explicit stack, in time linear in the text's
    length (forward mode's deep nesting included).

    Examples
    --------
    >>> render({}, [("MUL", 0, 0, 1), ("TAN", 0, 1, 2)], 3)
    'F3 (A2 A1)'
    """
    node_of = {(lo, hi): (op, mid) for op, lo, mid, hi in order}
    pieces: list[str] = []
    # the stack holds strings to emit and (lo, hi, bracketed) ranges to expand
    stack: list = [(0, n_factors - 1, False)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        lo, hi, bracketed = item
        if lo == hi:
            pieces.append(f"A{lo + 1}")
            continue
        op, mid = node_of[(lo, hi)]
        if op == "MUL":
            parts = [(mid + 1, hi, True), " ", (lo, mid, True)]
        elif op == "TAN":
            parts = [f"F{hi + 1} ", (lo, hi - 1, True)]
        else:
            parts = [(lo + 1, hi, True), f" F{lo + 1}"]
        if bracketed:
            parts = ["(", *parts, ")"]
        stack.extend(reversed(parts))
    return "".join(pieces) if pieces else "A1"


#: One token: a factor name exactly as render writes it, a bracket, or anything else (an error).
_TOKEN = re.compile(r"\s*(?:([AF])([0-9]+)(?![0-9A-Za-z_])|([()])|(\S))", flags=re.ASCII)


def parse_nodes(text: str, n_factors: int) -> dict:
    """The nodes ``{(lo, hi): (op, mid)}`` of a plan's text (ACC leaves not included).

    Raises
    ------
    PlanSyntaxError
        On unknown tokens, unbalanced parentheses, a bracket holding more
        than two operands, factors out of order, missing or repeated, or a
        matrix-free ``F`` with nothing formed to act on.

    Examples
    --------
    >>> parse_nodes("F3 (A2 A1)", 3)
    {(0, 1): ('MUL', 0), (0, 2): ('TAN', 1)}
    """
    if not isinstance(text, str):
        raise PlanSyntaxError(f"a plan must be a string, got {type(text).__name__}")
    if not text.strip():
        raise PlanSyntaxError(
            f"the plan is empty: it leaves out every factor; write A1..A{n_factors}, e.g. {_example(n_factors)!r}"
        )
    nodes: dict[Interval, tuple[str, int]] = {}
    groups: list[list[tuple]] = [[]]  # open brackets, each a list of operands (kind, lo, hi)
    pos = 0
    for match in _TOKEN.finditer(text):
        pos = match.end()
        if match.group(4) is not None:
            raise PlanSyntaxError(
                f"unexpected {match.group(4)!r} at position {match.start(4)} in {_shown(text)}; a plan uses only "
                f"the factors A1..A{n_factors} (separated by spaces), F1..F{n_factors} applied matrix-free, and "
                "parentheses"
            )
        if match.group(1):
            digits = match.group(2)
            k = int(digits) if len(digits) <= 20 and not digits.startswith("0") else 0
            if not 1 <= k <= n_factors:
                name = _shown(match.group(1) + digits, 24)[1:-1]
                raise PlanSyntaxError(
                    f"{name} is not a factor (in {_shown(text)}): the chain's factors are "
                    f"A1..A{n_factors}, numbered from 1, input side first"
                )
            groups[-1].append((match.group(1), k - 1, k - 1))
        elif match.group(3) == "(":
            groups.append([])
            continue
        else:
            if len(groups) == 1:
                raise PlanSyntaxError(f"unbalanced ')' at position {match.start(3)} in {_shown(text)}")
            operand = _combine(groups.pop(), nodes, text)
            groups[-1].append(operand)
        if len(groups[-1]) > 2:
            raise PlanSyntaxError(
                f"more than two operands in one bracket at position {match.start()} in {_shown(text)}; "
                "a product has exactly two operands, so bracket every pair, e.g. '(A3 A2) A1'"
            )
    if text[pos:].strip() or len(groups) != 1:
        raise PlanSyntaxError(f"unbalanced '(' in {_shown(text)}")
    kind, lo, hi = _combine(groups[0], nodes, text)
    if kind == "F":
        raise PlanSyntaxError(f"{_shown(text)} applies F{lo + 1} to nothing; a lone factor is written A{lo + 1}")
    if (lo, hi) != (0, n_factors - 1):
        missing = [f"A{k + 1}" for k in range(n_factors) if not lo <= k <= hi]
        raise PlanSyntaxError(f"{_shown(text)} leaves out {', '.join(missing)} of the chain's A1..A{n_factors}")
    return nodes


def _example(n: int) -> str:
    return " ".join(f"A{k}" for k in range(min(n, 2), 0, -1)) if n > 1 else "A1"


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted, elided in the middle beyond ``limit`` characters (errors never echo a novel)."""
    return repr(text) if len(text) <= limit else repr(text[: limit // 2] + " ... " + text[-limit // 2 :])


def _combine(operands: list[tuple], nodes: dict, text: str) -> tuple:
    """Turn a bracket's one or two operands into one, recording the node."""
    if not operands:
        raise PlanSyntaxError(f"empty brackets '()' in {_shown(text)}")
    if len(operands) == 1:
        return operands[0]
    (left_kind, left_lo, left_hi), (right_kind, right_lo, right_hi) = operands
    if left_lo != right_hi + 1:
        raise PlanSyntaxError(
            f"{range_label(left_lo, left_hi)} cannot multiply {range_label(right_lo, right_hi)} in {_shown(text)}: "
            "factors must be written in descending order, output side (highest) first, each exactly once"
        )
    if left_kind == "F" and right_kind == "F":
        raise PlanSyntaxError(
            f"F{left_lo + 1} F{right_lo + 1} in {_shown(text)}: a matrix-free factor acts on a formed Jacobian; "
            f"form one of them first, e.g. F{left_lo + 1} A{right_lo + 1}"
        )
    if left_kind == "F":
        nodes[(right_lo, left_hi)] = ("TAN", right_hi)
    elif right_kind == "F":
        nodes[(right_lo, left_hi)] = ("ADJ", right_lo)
    else:
        nodes[(right_lo, left_hi)] = ("MUL", right_hi)
    return ("A", right_lo, left_hi)

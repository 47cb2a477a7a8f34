"""The ``chainopt sweep`` subcommand: tangent and adjoint sweeps of an expression, as in the notes."""

from __future__ import annotations

import argparse

from chainopt.autodiff.expr import EXAMPLES, FUNCTIONS
from chainopt.cli.common import add_format_option, non_negative_int
from chainopt.errors import ChainoptError

__all__ = ["add_parser", "run_sweep"]

#: How to give an expression that starts with a minus (argparse would take it for an option).
LEADING_MINUS = (
    "an EXPR may start with '-' (\"-x*y\"); only a bare -x needs '--' in front: chainopt sweep --at x=1 -- -x"
)


#: Default of --max-rows: nodes shown per table in the text and markdown views.
MAX_ROWS = 60
#: Derivative columns (one per input or output) shown in the text and markdown views when bounded.
MAX_COLUMNS = 8
#: Characters a cell (a Fate or Son list, a definition) or a header value may show when bounded.
MAX_CELL = 60
MAX_HEADER = 240


def _elide(text: str, limit: int) -> str:
    """``text``, or its start and end around the number of characters left out."""
    if len(text) <= limit:
        return text
    keep = max(limit // 2 - 8, 4)
    return f"{text[:keep]} ...({len(text) - 2 * keep:,} chars)... {text[-keep:]}"


def bounded(document, max_rows: int):
    """The text/markdown views of a sweep report, bounded: output linear in the expression, never quadratic.

    At most ``max_rows`` rows per table (a note says how many are left out),
    the first :data:`MAX_COLUMNS` derivative columns, every cell and header
    value elided past :data:`MAX_CELL` / :data:`MAX_HEADER` characters.
    ``max_rows=0`` returns the document as it is. The csv and json views
    (``document.csv``, ``document.data``) are never touched.
    """
    import dataclasses

    from chainopt.report.render import Column

    if not max_rows:
        return document

    def column(c):
        fmt = c.fmt
        if callable(fmt):
            return dataclasses.replace(c, fmt=lambda v, f=fmt: _elide(f(v), MAX_CELL))
        if fmt == "" and c.key in ("node", "definition"):
            return dataclasses.replace(c, fmt=lambda v: _elide(str(v), MAX_CELL))
        return c

    tables = []
    for table in document.tables:
        rows = list(table.rows)
        if not rows or not isinstance(rows[0], dict):
            tables.append(table)
            continue
        columns = table.columns or tuple(Column(key) for key in rows[0])
        derivative = [c for c in columns if str(c.key).startswith("d")]
        columns = tuple(column(c) for c in columns if c not in derivative[MAX_COLUMNS:])
        notes = dict(table.notes)
        left_out = []
        if len(rows) > max_rows:
            left_out.append(f"{len(rows) - max_rows:,} more nodes")
        if len(derivative) > MAX_COLUMNS:
            left_out.append(f"{len(derivative) - MAX_COLUMNS:,} more derivative columns")
        if left_out:
            note = f"({' and '.join(left_out)} not shown: --max-rows 0 shows all, csv and json have all)"
            notes = {view: (notes[view] + " " if view in notes else "") + note for view in ("text", "markdown")}
        tables.append(dataclasses.replace(table, rows=rows[:max_rows], columns=columns, notes=notes))
    header = [(label, _elide(value, MAX_HEADER)) for label, value in document.header]
    return dataclasses.replace(document, header=header, tables=tables)


def _add_options(p) -> None:
    """The options, shared by the subcommand and the parser of words after ``-- EXPR``."""
    p.add_argument(
        "--at", action="append", default=[], metavar="NAME=VALUE[,...]",
        help="the input values, e.g. x=2 or x=1,y=2 (repeatable); every one must be used by EXPR",
    )
    p.add_argument(
        "--jacobian", action="store_true",
        help="also build the full Jacobian by n_in tangent and n_out adjoint sweeps and compare their counted "
        "multiply-adds (and, for chain:..., the chain model's FWD/BWD predictions)",
    )
    p.add_argument(
        "--activation", default=None, metavar="NAME", type=str.lower,
        help=f"chain:... only: activation between the layers ({', '.join(FUNCTIONS)} or none; default tanh)",
    )
    p.add_argument(
        "--budget", default=None, metavar="BYTES",
        help="chain:... only: memory allowed, e.g. 2G (default: half of the available memory)",
    )
    p.add_argument("--all-nodes", action="store_true", help="list every node, also those folded into named ones")
    p.add_argument(
        "--max-rows", type=non_negative_int, default=MAX_ROWS, metavar="K",
        help=f"text/markdown: show at most K nodes per table and {MAX_COLUMNS} derivative columns, and elide cells "
        f"over {MAX_CELL} characters (0: everything; default {MAX_ROWS}); csv and json are always complete",
    )
    add_format_option(p)


def add_parser(subparsers) -> None:
    """Add the ``sweep`` subcommand."""
    from chainopt.autodiff.layered import MAX_SWEEP_MADDS

    examples = "; ".join(f"{name} ({description})" for name, (_, description) in EXAMPLES.items())
    p = subparsers.add_parser(
        "sweep",
        help="tangent and adjoint sweeps of an expression on its computational graph",
        description=(
            "Trace EXPR at the point given by --at into a computational graph and print the graph "
            "(node, definition, value), the tangent sweep (each node's dx_k/dx, one forward sweep per "
            "input), the adjoint sweep (each node's df/dx_k, one reverse sweep per output) and the "
            "derivatives. EXPR uses numbers, variables, + - * / **, unary -, and the functions "
            f"{', '.join(FUNCTIONS)}; 'a, b' gives two outputs; 'y = log(x); p = y + sqrt(y)' names "
            "the nodes (each name once; never an input's). It is parsed safely (no eval). "
            f"Built-in examples: {examples}. "
            "'chain:n_1,...,n_N' is a layered function with seeded weights (implies --jacobian); it is "
            f"refused before anything is built if it needs more memory than --budget or more than "
            f"{MAX_SWEEP_MADDS:,} multiply-adds of sweeps; {LEADING_MINUS}."
        ),
        epilog=(
            "examples: chainopt sweep notes1 --at x=2   |   chainopt sweep \"x*y + sin(x)\" --at x=1,y=2   |   "
            "chainopt sweep \"-x*y\" --at x=1,y=2   |   chainopt sweep chain:4,8,3,1 --jacobian"
        ),
    )
    p.add_argument(
        "expr", nargs="+", metavar="EXPR",
        help="the expression, a built-in example name, or chain:n_1,...,n_N; " + LEADING_MINUS,
    )
    _add_options(p)
    p.set_defaults(run=run_sweep)
    # One EXPR is read; words after it are options (see _options_after_expr), so the usage says EXPR, once.
    p.usage = p.format_usage().removeprefix("usage: ").strip().replace("EXPR [EXPR ...]", "EXPR")
    usage_error = p.error

    def error(message: str):
        if "required: EXPR" in message or "unrecognized arguments: -" in message:
            message = f"{message}; {LEADING_MINUS}"
        usage_error(message)

    p.error = error


class _TailParser(argparse.ArgumentParser):
    """Parses the options that follow ``-- EXPR``; its errors are ChainoptErrors (one line, status 2)."""

    def error(self, message):
        """Raise the usage error as a ChainoptError, which the command line prints as one line."""
        raise ChainoptError(f"after EXPR: {message}; {LEADING_MINUS}")


def _options_after_expr(args) -> None:
    """``chainopt sweep -- EXPR --at x=1``: after ``--`` argparse passes every word as EXPR.

    Read the words after the first as options.
    """
    args.expr, *rest = args.expr
    if rest:
        tail = _TailParser(prog="chainopt sweep", add_help=False)
        _add_options(tail)
        tail.parse_args(rest, namespace=args)


def run_sweep(args) -> int:
    """``chainopt sweep``: print the sweep or Jacobian report of the expression; returns the exit code."""
    from chainopt.autodiff.expr import parse_point
    from chainopt.autodiff.layered import parse_chain_example
    from chainopt.cli.bench import parse_bytes
    from chainopt.report.render import render
    from chainopt.report.sweep import jacobian_report, sweep_report

    _options_after_expr(args)
    point = parse_point(args.at)
    if parse_chain_example(args.expr) is not None:
        activation = None if args.activation == "none" else args.activation or "tanh"
        budget = None if args.budget is None else parse_bytes(args.budget)
        print(jacobian_report(args.expr, point, activation=activation, budget=budget).format(args.format))
        return 0
    for option, value in (("--activation", args.activation), ("--budget", args.budget)):
        if value is not None:
            raise ChainoptError(
                f"{option} {value} applies only to chain:n_1,...,n_N, not to the expression {args.expr!r}"
            )
    report = sweep_report(args.expr, point, all_nodes=args.all_nodes)

    def shown(rep) -> str:
        if args.format in ("text", "markdown"):
            return render(bounded(rep.document(), args.max_rows), args.format)
        return rep.format(args.format)

    if not args.jacobian:
        print(shown(report))
        return 0
    jac = jacobian_report(args.expr, point)
    if args.format == "json":
        from chainopt.report.render import to_json

        print(to_json({**report.to_dict(), "jacobian": jac.to_dict()}))
    else:
        print(shown(report))
        print()
        print(shown(jac))
    return 0

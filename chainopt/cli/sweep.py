"""The ``chainopt sweep`` subcommand: tangent and adjoint sweeps of an expression, as in the notes."""

from __future__ import annotations

import argparse

from chainopt.autodiff.expr import EXAMPLES, FUNCTIONS
from chainopt.cli.common import add_format_option
from chainopt.errors import ChainoptError

__all__ = ["add_parser", "run_sweep"]

#: How to give an expression that starts with a minus (argparse would take it for an option).
LEADING_MINUS = (
    "an EXPR may start with '-' (\"-x*y\"); only a bare -x needs '--' in front: chainopt sweep --at x=1 -- -x"
)


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
        "--activation", default=None, metavar="NAME",
        help=f"chain:... only: activation between the layers ({', '.join(FUNCTIONS)} or none; default tanh)",
    )
    p.add_argument(
        "--budget", default=None, metavar="BYTES",
        help="chain:... only: memory allowed, e.g. 2G (default: half of the available memory)",
    )
    p.add_argument("--all-nodes", action="store_true", help="list every node, also those folded into named ones")
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

    def error(self, message):  # noqa: D102 (argparse API)
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
    if not args.jacobian:
        print(report.format(args.format))
        return 0
    jac = jacobian_report(args.expr, point)
    if args.format == "json":
        from chainopt.report.render import to_json

        print(to_json({**report.to_dict(), "jacobian": jac.to_dict()}))
    else:
        print(report.format(args.format))
        print()
        print(jac.format(args.format))
    return 0

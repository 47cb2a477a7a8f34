"""The ``chainopt sweep`` subcommand: tangent and adjoint sweeps of an expression, as in the notes."""

from __future__ import annotations

from chainopt.cli import add_format_option
from chainopt.expr import EXAMPLES, FUNCTIONS

__all__ = ["add_parser", "run_sweep"]


def add_parser(subparsers) -> None:
    """Add the ``sweep`` subcommand."""
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
            f"the nodes. It is parsed safely (no eval). Built-in examples: {examples}. "
            "'chain:n_1,...,n_N' is a layered function with seeded weights (implies --jacobian)."
        ),
        epilog=(
            "examples: chainopt sweep notes1 --at x=2   |   chainopt sweep \"x*y + sin(x)\" --at x=1,y=2   |   "
            "chainopt sweep chain:4,8,3,1 --jacobian"
        ),
    )
    p.add_argument("expr", metavar="EXPR", help="the expression, a built-in example name, or chain:n_1,...,n_N")
    p.add_argument(
        "--at", action="append", default=[], metavar="NAME=VALUE[,...]",
        help="the input values, e.g. x=2 or x=1,y=2 (repeatable)",
    )
    p.add_argument(
        "--jacobian", action="store_true",
        help="also build the full Jacobian by n_in tangent and n_out adjoint sweeps and compare their counted "
        "multiply-adds (and, for chain:..., the chain model's FWD/BWD predictions)",
    )
    p.add_argument(
        "--activation", default="tanh", metavar="NAME",
        help=f"activation between the layers of chain:... ({', '.join(FUNCTIONS)} or none; default tanh)",
    )
    p.add_argument("--all-nodes", action="store_true", help="list every node, also those folded into named ones")
    add_format_option(p)
    p.set_defaults(run=run_sweep)


def run_sweep(args) -> int:
    from chainopt.expr import parse_point
    from chainopt.sweep_report import jacobian_report, parse_chain_example, sweep_report

    point = parse_point(args.at)
    activation = None if args.activation == "none" else args.activation
    if parse_chain_example(args.expr) is not None:
        print(jacobian_report(args.expr, point, activation=activation).format(args.format))
        return 0
    report = sweep_report(args.expr, point, all_nodes=args.all_nodes)
    if not args.jacobian:
        print(report.format(args.format))
        return 0
    jac = jacobian_report(args.expr, point)
    if args.format == "json":
        import json

        print(json.dumps({**report.to_dict(), "jacobian": jac.to_dict()}, indent=2))
    else:
        print(report.format(args.format))
        print()
        print(jac.format(args.format))
    return 0

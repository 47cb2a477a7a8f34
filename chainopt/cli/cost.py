"""``chainopt`` and ``chainopt cost``: cost reports of chains."""

from __future__ import annotations

import sys

from chainopt.cli.common import DIMS_HELP, add_format_option, non_negative_int, parse_dims
from chainopt.core.chain import Chain
from chainopt.core.strategies import STRATEGIES
from chainopt.report.cost import cost_report

#: The built-in chains ``chainopt`` reports on when run with no arguments.
DEFAULT_CHAINS = (
    ("MNIST MLP gradient: 784 -> 512 -> 256 -> 10 -> scalar loss", (784, 512, 256, 10, 1)),
    ("hourglass: wide ends, a 10-wide waist", (100, 1000, 10, 1000, 100)),
)

def add_parser(subparsers) -> None:
    """Add the ``cost`` subcommand."""
    p = subparsers.add_parser(
        "cost",
        help="cost report of one chain: FWD, BWD, the optimum and its steps",
        description=(
            "Print what forward mode (FWD), reverse mode (BWD) and the optimal bracketing cost, "
            "in exact multiply-adds, and the chosen plan step by step. " + DIMS_HELP
        ),
        epilog="example: chainopt cost 784 512 256 10 1   (an MLP's loss gradient: BWD wins)",
    )
    p.add_argument("dims", nargs="+", metavar="DIM", help="the chain's dims, input first")
    p.add_argument(
        "--strategy",
        "-s",
        default="optimal",
        help=f"plan whose steps are listed: {', '.join(STRATEGIES)} (default: optimal)",
    )
    add_format_option(p)
    p.add_argument(
        "--max-steps", type=non_negative_int, default=40, metavar="K",
        help="list at most K steps in text/markdown (0: all; default 40)",
    )
    p.set_defaults(run=run_cost)


#: Seconds the exact DP took for 2000 factors on the reference machine (reports/dp_scaling.md).
DP_SECONDS_AT_2000 = 2.0


def run_cost(args) -> int:
    """``chainopt cost``: print the cost report of the chain; returns the exit code."""
    chain = Chain(parse_dims(args.dims))
    if chain.n_factors >= 1000:
        guess = DP_SECONDS_AT_2000 * (chain.n_factors / 2000) ** 3
        print(
            f"chainopt: the exact DP for {chain.n_factors:,} factors grows as N^3: "
            f"roughly {guess:,.0f} s on a machine like the one in reports/dp_scaling.md",
            file=sys.stderr,
            flush=True,
        )
    report = cost_report(chain, args.strategy)
    print(report.format(args.format, max_steps=args.max_steps or None))
    return 0


def run_default(args) -> int:
    """``chainopt`` with no subcommand: reports on the built-in chains."""
    for i, (title, dims) in enumerate(DEFAULT_CHAINS):
        if i:
            print()
        print(f"== {title}")
        print(cost_report(dims).to_text())
    print()
    print("Your own chain: chainopt cost 784 512 256 10 1   (dims input first; chainopt --help for more)")
    return 0

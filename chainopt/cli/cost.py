"""``chainopt`` and ``chainopt cost``: cost reports of chains.

The chain is given one way: dims on the command line, ``--dims-file`` (a file
or ``-`` for standard input, for long chains), ``--factors`` (a generalized
chain read by :func:`chainopt.read_factors`) or ``--network`` (a network's
factor chain, e.g. ``mlp:784,512,256,10``). Everything is validated before
any plan is made.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from itertools import pairwise

from chainopt.cli.common import DIMS_HELP, add_format_option, non_negative_int, parse_dims, shorten
from chainopt.core.chain import Chain
from chainopt.core.factors import read_factors
from chainopt.core.strategies import STRATEGIES, strategy_name
from chainopt.errors import ChainoptError
from chainopt.layers.activations import ACTIVATIONS, get_activation
from chainopt.layers.kinds import Dense, Elementwise
from chainopt.report.cost import cost_report

#: The built-in chains ``chainopt`` reports on when run with no arguments.
DEFAULT_CHAINS = (
    ("MNIST MLP gradient: 784 -> 512 -> 256 -> 10 -> scalar loss", (784, 512, 256, 10, 1)),
    ("bottleneck-middle: a 10-wide waist between 1000-wide layers", (100, 1000, 10, 1000, 100)),
)

#: The network kinds ``--network`` builds.
NETWORKS = ("mlp",)


def machines_arg(text: str) -> int | None:
    """Argparse type: a whole number >= 1, or ``unlimited`` (``None``)."""
    if text.strip().lower() == "unlimited":
        return None
    if not re.fullmatch(r"\d+", text, flags=re.ASCII) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{shorten(text)!r} is not a whole number >= 1 or 'unlimited'")
    return int(text)


def add_parser(subparsers) -> None:
    """Add the ``cost`` subcommand."""
    p = subparsers.add_parser(
        "cost",
        help="cost report of one chain: FWD, BWD, the optimum and its steps",
        description=(
            "Print what forward mode (FWD), reverse mode (BWD) and the optimal plan cost, in exact "
            "multiply-adds, and the chosen plan step by step. Give the chain as dims, or with "
            "--dims-file, --factors or --network (a generalized chain: FWD and BWD are the global "
            "tangent and adjoint sweeps, and preaccumulate is compared too). " + DIMS_HELP
        ),
        epilog=(
            "examples: chainopt cost 784 512 256 10 1   |   chainopt cost --network mlp:784,512,256,10   |   "
            "chainopt cost --factors chain.csv --memory-limit 5000 --machines 4   |   "
            "chainopt cost --dims-file dims.txt"
        ),
    )
    p.add_argument("dims", nargs="*", metavar="DIM", help="the chain's dims, input first")
    source = p.add_argument_group("other ways to give the chain (one of them, instead of DIMs)")
    source.add_argument("--dims-file", metavar="FILE",
                        help="read the dims from FILE ('-': standard input), separated by spaces, newlines or commas")
    source.add_argument("--factors", metavar="FILE",
                        help="a generalized chain: Naumann's text format, or CSV/JSON with columns n_in, n_out, "
                             "tangent, adjoint, tape, diagonal, given")
    source.add_argument("--network", metavar="SPEC",
                        help="a network's factor chain: mlp:WIDTH,WIDTH,... (input first), e.g. mlp:784,512,256,10")
    source.add_argument("--activation", default=None, metavar="NAME", type=str.lower,
                        help=f"--network's activation: {', '.join(ACTIVATIONS)} (default: tanh)")
    p.add_argument("--memory-limit", type=non_negative_int, default=None, metavar="M",
                   help="tape entries an adjoint may keep (--factors and --network; default: unlimited)")
    p.add_argument("--machines", type=machines_arg, default=1, metavar="M",
                   help="also plan for M machines (a whole number >= 1, or 'unlimited'): makespan, speed-up "
                        "over one machine and the schedule")
    p.add_argument(
        "--strategy",
        "-s",
        default="optimal",
        help=f"plan whose steps are listed: {', '.join(STRATEGIES)}, any case (default: optimal)",
    )
    add_format_option(p)
    p.add_argument(
        "--max-steps", type=non_negative_int, default=40, metavar="K",
        help="list at most K steps (and schedule rows) in text/markdown (0: all; default 40)",
    )
    p.set_defaults(run=run_cost)


def read_dims_file(path: str) -> list[int]:
    """The dims in a file (``-``: standard input): whole numbers separated by whitespace or commas."""
    where = "standard input" if path == "-" else repr(shorten(path))
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ChainoptError(f"cannot read the dims file {where}: {reason}") from None
    words = text.split()
    if not words:
        raise ChainoptError(f"the dims file {where} is empty; give whole numbers, input first, e.g. 784 512 10")
    try:
        return parse_dims(words)
    except ChainoptError as exc:
        raise ChainoptError(f"in the dims file {where}: {exc}") from None


def read_factor_file(path: str):
    """The factors in ``path`` (see :func:`chainopt.read_factors`); unreadable files are one clear error."""
    try:
        return read_factors(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ChainoptError(f"cannot read the factors file {shorten(path)!r}: {reason}") from None


def network_factors(spec: str, activation: str):
    """The factor chain of ``--network SPEC``, from the sizes alone (no weights are drawn).

    ``mlp:w_1,...,w_L`` is :func:`chainopt.layers.mlp`'s layer sequence
    (Dense, activation, Dense, ..., Dense); each layer's factor is what that
    layer's ``factor()`` gives. A dense layer's factor depends on its sizes
    only, so ``Dense.factor`` is asked on the sizes, without drawing a weight
    matrix: a network too large to build is still planned (the tests check
    the result against ``mlp(widths).factors()`` of a real network).
    """
    kind, _, rest = spec.partition(":")
    if kind.strip().lower() not in NETWORKS or not rest.strip():
        raise ChainoptError(
            f"--network {shorten(spec)!r}: give a kind and its widths, input first: "
            f"{' or '.join(k + ':784,512,256,10' for k in NETWORKS)}"
        )
    try:
        widths = Chain(parse_dims([rest])).dims  # validated like dims: whole numbers >= 1, at least two
    except ChainoptError as exc:
        raise ChainoptError(f"--network {shorten(spec)!r}: {exc}") from None
    act = get_activation(activation)
    factors = []
    for k, (n_in, n_out) in enumerate(pairwise(widths)):
        if k:
            factors.append(Elementwise(n_in, act).factor())
        factors.append(Dense.factor(_DenseSizes(n_in, n_out)))
    return factors


@dataclass(frozen=True)
class _DenseSizes:
    """What ``Dense.factor`` reads of a dense layer: its sizes (no weights)."""

    n_in: int
    n_out: int


def _chain_source(args):
    """The chain (dims or factors) and a label of where it came from, after checking the options agree."""
    given = [name for name, value in (("DIMs", args.dims), ("--dims-file", args.dims_file),
                                      ("--factors", args.factors), ("--network", args.network)) if value]
    if not given:
        raise ChainoptError("the following arguments are required: DIM ... (or one of --dims-file, --factors, "
                            "--network)")
    if len(given) > 1:
        raise ChainoptError(f"give the chain one way: DIMs, --dims-file, --factors or --network (got "
                            f"{' and '.join(given)})")
    if args.activation is not None and not args.network:
        raise ChainoptError(f"--activation {shorten(args.activation)!r} needs --network")
    if args.memory_limit is not None and not (args.factors or args.network):
        raise ChainoptError("--memory-limit limits the adjoints' tapes: it needs --factors or --network (dims have "
                            "no tapes)")
    if args.dims:
        return Chain(parse_dims(args.dims)), None
    if args.dims_file:
        return Chain(read_dims_file(args.dims_file)), None if args.dims_file == "-" else args.dims_file
    if args.factors:
        return read_factor_file(args.factors), args.factors
    activation = args.activation or "tanh"
    return network_factors(args.network, activation), f"{args.network} ({activation})"


def run_cost(args) -> int:
    """``chainopt cost``: print the cost report of the chain; returns the exit code."""
    strategy = strategy_name(args.strategy)  # an unknown name is refused before the chain is read
    chain, source = _chain_source(args)
    report = cost_report(chain, strategy, memory_limit=args.memory_limit, machines=args.machines, source=source)
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

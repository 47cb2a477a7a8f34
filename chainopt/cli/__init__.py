"""The ``chainopt`` command line: a thin shell over the library.

Each subcommand is a module exposing ``add_parser(subparsers)``; the parser it
adds sets ``run=function(args) -> int``. Bad input (any :class:`ChainoptError`,
or an argument argparse refuses) prints one line on stderr and exits with
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from chainopt.errors import ChainoptError

__all__ = ["main", "parse_dims", "ChainoptArgumentParser"]

#: The built-in chains ``chainopt`` reports on when run with no arguments.
DEFAULT_CHAINS = (
    ("MNIST MLP gradient: 784 -> 512 -> 256 -> 10 -> scalar loss", (784, 512, 256, 10, 1)),
    ("hourglass: wide ends, a 10-wide waist", (100, 1000, 10, 1000, 100)),
)

DIMS_HELP = (
    "dims of the chain, INPUT FIRST: n_1 n_2 ... n_N, layer k maps R^n_k -> R^n_(k+1). "
    "Separate them by spaces or commas, e.g. '784 512 256 10 1' or '784,512,256,10,1'."
)

#: Modules that each add one subcommand (in ``--help`` order).
SUBCOMMAND_MODULES = ["chainopt.cli", "chainopt.cli.bench", "chainopt.cli.sweep", "chainopt.cli.reports"]


class ChainoptArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit status 2.

    A word that starts with ``-`` but cannot be an option name (``-x*y``,
    ``-log(x)``, ``-4``) is a positional argument, so expressions and
    negative numbers need no ``--`` in front of them.
    """

    _OPTION = re.compile(r"--?[A-Za-z][\w-]*(=.*)?", re.DOTALL)

    def error(self, message):  # noqa: D102 (argparse API)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def _parse_optional(self, arg_string):  # argparse's hook: None means "positional"
        if arg_string.startswith("-") and arg_string != "--" and not self._OPTION.fullmatch(arg_string):
            return None
        return super()._parse_optional(arg_string)


def _non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    if not re.fullmatch(r"\d+", text, flags=re.ASCII):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def parse_dims(words: list[str]) -> list[int]:
    """Dims from command-line words: ``['784', '512,256', '10']`` -> ``[784, 512, 256, 10]``.

    Raises
    ------
    ChainoptError
        For anything that is not a whole decimal number, naming it.
    """
    dims = []
    for word in words:
        parts = [p.strip() for p in word.split(",")]
        if "" in parts[1:-1] or (len(parts) > 1 and parts[0] == ""):
            raise ChainoptError(f"empty dim in {word!r}: two commas in a row or a leading comma")
        for part in " ".join(parts).split():
            if not re.fullmatch(r"[+-]?\d+", part, flags=re.ASCII):
                raise ChainoptError(
                    f"dim {part!r} is not a whole number; give positive integers, input first, "
                    "e.g. 784 512 256 10 1"
                )
            dims.append(int(part))
    return dims


def add_format_option(parser: argparse.ArgumentParser) -> None:
    from chainopt.report.cost import FORMATS

    parser.add_argument(
        "--format", "-f", choices=FORMATS, default="text", help="output format (default: text)"
    )


def add_parser(subparsers) -> None:
    """Add the ``cost`` subcommand."""
    from chainopt.core.strategies import STRATEGIES

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
        "--strategy", "-s", default="optimal", help=f"plan whose steps are listed: {', '.join(STRATEGIES)} (default: optimal)"
    )
    add_format_option(p)
    p.add_argument(
        "--max-steps", type=_non_negative_int, default=40, metavar="K",
        help="list at most K steps in text/markdown (0: all; default 40)",
    )
    p.set_defaults(run=run_cost)


#: Seconds the exact DP took for 2000 factors on the reference machine (reports/dp_scaling.md).
DP_SECONDS_AT_2000 = 2.0


def run_cost(args) -> int:
    from chainopt.core.chain import Chain
    from chainopt.report.cost import cost_report

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
    from chainopt.report.cost import cost_report

    for i, (title, dims) in enumerate(DEFAULT_CHAINS):
        if i:
            print()
        print(f"== {title}")
        print(cost_report(dims).to_text())
    print()
    print("Your own chain: chainopt cost 784 512 256 10 1   (dims input first; chainopt --help for more)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand."""
    parser = ChainoptArgumentParser(
        prog="chainopt",
        description=(
            "Decide in which order to multiply a chain of Jacobians A_{N-1} ... A_1: forward mode "
            "(from the input side), reverse mode (from the output side) or the cheapest bracketing. "
            "With no command, prints cost reports for two built-in chains. " + DIMS_HELP
        ),
        epilog="examples: chainopt   |   chainopt cost 100 1000 10 1000 100   |   chainopt cost 784,512,256,10,1 --format json",
    )
    parser.set_defaults(run=run_default)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=ChainoptArgumentParser)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already one line on stderr)
        return exc.code if isinstance(exc.code, int) else 0
    try:
        return args.run(args)
    except ChainoptError as exc:
        print(f"chainopt: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("chainopt: error: out of memory; try a smaller problem", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chainopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0

"""The ``chainopt`` command line: a thin shell over the library.

Each subcommand is a module of this package exposing ``add_parser(subparsers)``;
the parser it adds sets ``run=function(args) -> int``. Bad input (any
:class:`ChainoptError`, or an argument argparse refuses) prints one line on
stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys

from chainopt import __version__
from chainopt.cli import bench, cost, reports, sweep
from chainopt.cli.common import DIMS_HELP, ChainoptArgumentParser, parse_dims, shorten
from chainopt.errors import ChainoptError

__all__ = ["main", "build_parser", "parse_dims", "ChainoptArgumentParser"]

#: The modules that each add one subcommand (in ``--help`` order).
SUBCOMMANDS = (cost, bench, sweep, reports)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand."""
    parser = ChainoptArgumentParser(
        prog="chainopt",
        description=(
            "Decide in which order to multiply a chain of Jacobians A_{N-1} ... A_1: forward mode "
            "(from the input side), reverse mode (from the output side) or the cheapest bracketing. "
            "With no command, prints cost reports for two built-in chains. " + DIMS_HELP
        ),
        epilog=(
            "examples: chainopt   |   chainopt cost 100 1000 10 1000 100   |   "
            "chainopt cost 784,512,256,10,1 --format json"
        ),
    )
    parser.add_argument("--version", action="version", version=f"chainopt {__version__}")
    parser.set_defaults(run=cost.run_default)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=ChainoptArgumentParser)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


#: A first word that looks like dims (``784``, ``784,512``): the user meant ``chainopt cost``.
_DIMS_WORD = re.compile(r"[+-]?\d+(,[+-]?\d*)*,?", flags=re.ASCII)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input)."""
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    if words and _DIMS_WORD.fullmatch(words[0]):  # dims without a command: say which command takes them
        print(f"chainopt: error: {shorten(words[0])!r} is not a command; for the cost report of these dims run: "
              f"{shorten('chainopt cost ' + ' '.join(words), 120)}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(words)
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

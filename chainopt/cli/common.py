"""What every subcommand shares: the argument parser class, dims and format options."""

from __future__ import annotations

import argparse
import re

from chainopt.errors import ChainoptError
from chainopt.report.cost import FORMATS

__all__ = ["ChainoptArgumentParser", "parse_dims", "add_format_option", "non_negative_int", "DIMS_HELP"]

DIMS_HELP = (
    "dims of the chain, INPUT FIRST: n_1 n_2 ... n_N, layer k maps R^n_k -> R^n_(k+1). "
    "Separate them by spaces or commas, e.g. '784 512 256 10 1' or '784,512,256,10,1'."
)

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


def non_negative_int(text: str) -> int:
    """Argparse type: a whole number >= 0."""
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
    """Add ``--format/-f`` with every format the renderer writes."""
    parser.add_argument(
        "--format", "-f", choices=FORMATS, default="text", help="output format (default: text)"
    )

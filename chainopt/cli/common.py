"""What every subcommand shares: the argument parser class, dims and format options."""

from __future__ import annotations

import argparse
import re
import sys

from chainopt.errors import ChainoptError, shorten
from chainopt.report.cost import FORMATS

__all__ = ["ChainoptArgumentParser", "parse_dims", "add_format_option", "non_negative_int", "shorten", "DIMS_HELP"]

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

    #: Characters of argparse's message an error line keeps (a long echoed value is elided in its middle).
    MAX_MESSAGE = 360

    def error(self, message):
        """Print one line on stderr, with the same prefix as every other error, and exit with status 2."""
        self.exit(2, f"chainopt: error: {shorten(message, self.MAX_MESSAGE)} (see {self.prog} --help)\n")

    def _get_value(self, action, arg_string):  # argparse's hook: converts, and says "invalid int value: ..."
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as exc:
            raise _bounded(exc, action, arg_string) from None

    def _check_value(self, action, value):  # argparse's hook: says "invalid choice: ..."
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            raise _bounded(exc, action, value) from None

    def _parse_optional(self, arg_string):  # argparse's hook: None means "positional"
        if arg_string.startswith("-") and arg_string != "--" and not self._OPTION.fullmatch(arg_string):
            return None
        return super()._parse_optional(arg_string)


def _bounded(exc: argparse.ArgumentError, action, value) -> argparse.ArgumentError:
    """``exc`` with a long ``value`` echoed as its start and end, its length, and (for an int) what was expected."""
    if not isinstance(value, str) or len(value) <= 60 or repr(value) not in exc.message:
        return exc
    unit = "digits" if re.fullmatch(r"[+-]?\d+", value, flags=re.ASCII) else "characters"
    said = f"{shorten(value)!r} ({len(value.lstrip('+-')) if unit == 'digits' else len(value):,} {unit})"
    message = exc.message.replace(repr(value), said)
    if action.type is int:
        message += (f"; expected an integer of at most {sys.get_int_max_str_digits():,} digits" if unit == "digits"
                    else "; expected an integer")
    return argparse.ArgumentError(action, message)


def non_negative_int(text: str) -> int:
    """Argparse type: a whole number >= 0."""
    if not re.fullmatch(r"\d+", text, flags=re.ASCII):
        raise argparse.ArgumentTypeError(f"{shorten(text)!r} is not a whole number >= 0")
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        raise argparse.ArgumentTypeError(f"{shorten(text)!r} has {len(text):,} digits; expected a whole number >= 0 "
                                         f"of at most {sys.get_int_max_str_digits():,} digits") from None


#: Whole numbers separated by whitespace or by commas (each right after a number), a trailing comma allowed:
#: the common case, checked in one pass; anything else takes the word-by-word path, which names the culprit.
_PLAIN_DIMS = re.compile(r"\s*[+-]?\d+(?:(?:,\s*|\s+)[+-]?\d+)*,?\s*", flags=re.ASCII)


def _to_int(part: str) -> int:
    try:
        return int(part)
    except ValueError:  # more digits than Python converts: say so in chainopt's words
        raise ChainoptError(f"dim {shorten(part)!r} has {len(part):,} digits; a dim is a size, e.g. 784") from None


def parse_dims(words: list[str]) -> list[int]:
    """Dims from command-line words: ``['784', '512,256', '10']`` -> ``[784, 512, 256, 10]``.

    Linear in the input: a million dims are read in well under a second.

    Raises
    ------
    ChainoptError
        For anything that is not a whole decimal number, naming it.

    Examples
    --------
    >>> parse_dims(["784,", "512 256", "10"])
    [784, 512, 256, 10]
    """
    if any(not word.strip() for word in words):
        raise ChainoptError("empty dim: an empty argument ('') where a whole number was expected; give positive "
                            "integers, input first, e.g. 784 512 256 10 1")
    joined = " ".join(words)
    if _PLAIN_DIMS.fullmatch(joined):
        return [_to_int(part) for part in joined.replace(",", " ").split()]
    dims = []
    for word in words:
        parts = [p.strip() for p in word.split(",")]
        if "" in parts[1:-1] or (len(parts) > 1 and parts[0] == ""):
            raise ChainoptError(f"empty dim in {shorten(word)!r}: two commas in a row or a leading comma")
        for part in " ".join(parts).split():
            if not re.fullmatch(r"[+-]?\d+", part, flags=re.ASCII):
                raise ChainoptError(
                    f"dim {shorten(part)!r} is not a whole number; give positive integers, input first, "
                    "e.g. 784 512 256 10 1"
                )
            dims.append(_to_int(part))
    return dims


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format/-f`` with every format the renderer writes."""
    parser.add_argument(
        "--format", "-f", choices=FORMATS, default="text", help="output format (default: text)"
    )

"""The exceptions chainopt raises for bad input.

Every error is a :class:`ChainoptError`, which is also a :class:`ValueError`,
so ``except ValueError`` keeps working for callers who do not know chainopt.
Messages name the bad value, where it is, and what was expected.
"""

__all__ = [
    "ChainoptError",
    "DimensionError",
    "ShapeError",
    "PlanSyntaxError",
    "UnknownStrategyError",
    "ChainTooLongError",
    "NonFiniteError",
    "MemoryBudgetError",
    "ResultMismatchError",
    "ExpressionError",
    "shorten",
]


class ChainoptError(ValueError):
    """Base class of every error chainopt raises for bad input."""


class DimensionError(ChainoptError):
    """A chain's dimensions are not a sequence of at least two positive ints."""


class ShapeError(ChainoptError):
    """Arrays whose shapes do not form the expected chain."""


class PlanSyntaxError(ChainoptError):
    """A bracketing string that cannot be read as a plan for the chain."""


class UnknownStrategyError(ChainoptError):
    """A strategy name that is not registered."""


class ChainTooLongError(ChainoptError):
    """A chain too long for an exhaustive method."""


class NonFiniteError(ChainoptError):
    """NaN or infinity where finite numbers are required."""


class MemoryBudgetError(ChainoptError):
    """Work that would need more memory than the allowed budget."""


class ResultMismatchError(ChainoptError):
    """Two orders of the same product gave different results."""


class ExpressionError(ChainoptError):
    """An expression that chainopt refuses to parse or evaluate."""


def shorten(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters with ``...`` in the middle, for echoing input in an error.

    >>> shorten("784 512 10"), shorten("1 " * 50, width=20)
    ('784 512 10', '1 1 1 1 ...1 1 1 1 ')
    """
    if len(text) <= width:
        return text
    half = (width - 3) // 2
    return f"{text[:half]}...{text[len(text) - half:]}"

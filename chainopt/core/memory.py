"""Memory estimates and the budget check: bytes needed versus bytes allowed.

The budget is always passed in: the core never reads the machine (the
execution layer's :func:`chainopt.execution.check_memory` resolves the
machine's default budget and calls :func:`refuse_over_budget`).
"""

from __future__ import annotations

from dataclasses import dataclass

from chainopt.errors import MemoryBudgetError

__all__ = ["MemoryEstimate", "refuse_over_budget", "human_bytes"]


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a computation on a chain needs, before anything is allocated.

    Attributes
    ----------
    inputs : int
        Bytes of the Jacobians themselves (0 when they already exist).
    intermediates : int
        Bytes of the intermediate products alive at once at the worst moment
        (the plan's ``peak_memory`` entries, the result included).
    itemsize : int
        Bytes per entry.
    """

    inputs: int
    intermediates: int
    itemsize: int

    @property
    def total(self) -> int:
        """``inputs + intermediates``."""
        return self.inputs + self.intermediates


def human_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit below it, e.g. ``'74.5 GiB'``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def refuse_over_budget(
    estimate: MemoryEstimate, budget: int, *, what: str = "this computation", origin: str = ""
) -> None:
    """Raise :class:`MemoryBudgetError` if ``estimate.total`` exceeds ``budget`` bytes.

    ``origin`` says where the budget came from, e.g. ``", 0.5 of the 8.0 GiB available"``.

    Examples
    --------
    >>> refuse_over_budget(MemoryEstimate(inputs=800, intermediates=80, itemsize=8), 1000)
    >>> too_much = MemoryEstimate(inputs=800, intermediates=800, itemsize=8)
    >>> refuse_over_budget(too_much, 1000)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.MemoryBudgetError: this computation would need 1,600 bytes (1.6 KiB: 800 for the inputs + 800 for
        intermediates) but the budget allows 1,000 bytes (1000 B)
    """
    needed = estimate.total
    if needed > budget:
        raise MemoryBudgetError(
            f"{what} would need {needed:,} bytes ({human_bytes(needed)}: {estimate.inputs:,} for the inputs + "
            f"{estimate.intermediates:,} for intermediates) but the budget allows {budget:,} bytes "
            f"({human_bytes(budget)}{origin})"
        )

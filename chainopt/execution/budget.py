"""The machine's memory budget: the one place that reads how much memory is available."""

from __future__ import annotations

import numbers
import os
import re

from chainopt.core.memory import MemoryEstimate, human_bytes, refuse_over_budget
from chainopt.errors import ChainoptError

__all__ = [
    "available_memory", "default_budget", "check_memory", "parse_bytes", "as_budget", "BUDGET_FRACTION",
    "BUDGET_FLOOR",
]

#: The default memory budget is this fraction of the machine's available memory.
BUDGET_FRACTION = 0.5

#: Work needing at most this many bytes is never refused by the default budget
#: (so small products do not pay for reading ``/proc/meminfo``).
BUDGET_FLOOR = 64 * 2**20

#: Budget assumed when the available memory cannot be read (1 GiB).
FALLBACK_AVAILABLE = 2**30


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_bytes(text: str) -> int:
    """``'512M'`` -> ``536870912``: bytes, with an optional K, M, G or T suffix (binary units).

    Examples
    --------
    >>> parse_bytes("2G"), parse_bytes("1500"), parse_bytes("1.5KiB")
    (2147483648, 1500, 1536)
    """
    match = re.fullmatch(r"\s*(\d{1,30}(?:\.\d{1,30})?)\s*([KMGT]?)(?:i?B)?\s*", str(text), flags=re.IGNORECASE)
    if not match:
        shown = repr(text) if len(str(text)) <= 40 else repr(str(text)[:30] + "...")
        raise ChainoptError(f"budget {shown} is not a size; give bytes like 800000000, 512M or 2G")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def as_budget(budget) -> int | None:
    """A memory budget as bytes: ``None``, an int >= 0, or a size like ``"2G"`` (as the command line takes).

    Raises
    ------
    ChainoptError
        For a negative number, a bool, or anything that is not a size, naming it.

    Examples
    --------
    >>> as_budget("2G"), as_budget(1000), as_budget(None)
    (2147483648, 1000, None)
    >>> as_budget(-1)
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: budget -1 is negative; give bytes >= 0, e.g. 800000000 or "2G" (None: the default)
    """
    if budget is None:
        return None
    if isinstance(budget, str):
        return parse_bytes(budget)
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral):
        raise ChainoptError(
            f"budget {budget!r} ({type(budget).__name__}) is not a size; give bytes as an int, or a string like "
            '"512M" or "2G" (None: the default)'
        )
    if budget < 0:
        raise ChainoptError(f'budget {budget} is negative; give bytes >= 0, e.g. 800000000 or "2G" (None: the default)')
    return int(budget)


def available_memory() -> tuple[int, str]:
    """The machine's available memory in bytes, and where the figure came from.

    Reads ``MemAvailable`` from ``/proc/meminfo`` (Linux); elsewhere uses
    ``os.sysconf`` free pages; if neither works, assumes 1 GiB.

    Examples
    --------
    >>> nbytes, source = available_memory()
    >>> nbytes > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "/proc/meminfo MemAvailable"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "sysconf free pages"
    except (AttributeError, OSError, ValueError):
        return FALLBACK_AVAILABLE, "unknown (assumed 1 GiB)"


def default_budget() -> int:
    """The default memory budget in bytes: ``BUDGET_FRACTION`` of :func:`available_memory`."""
    return int(available_memory()[0] * BUDGET_FRACTION)


def check_memory(estimate: MemoryEstimate, budget: int | None = None, *, what: str = "this computation") -> None:
    """Refuse work whose :class:`MemoryEstimate` exceeds the budget.

    Parameters
    ----------
    estimate : MemoryEstimate
    budget : int, str or None
        Bytes allowed (``"2G"`` works too, see :func:`as_budget`). ``None``: :func:`default_budget`, consulted only when
        the estimate exceeds ``BUDGET_FLOOR`` (64 MiB).
    what : str
        Names the work in the error message.

    Raises
    ------
    MemoryBudgetError
        Saying how many bytes were needed and how many are allowed.

    Examples
    --------
    >>> check_memory(MemoryEstimate(inputs=800, intermediates=80, itemsize=8), budget=1000)
    >>> too_much = MemoryEstimate(inputs=800, intermediates=800, itemsize=8)
    >>> check_memory(too_much, budget=1000)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.MemoryBudgetError: this computation would need 1,600 bytes (1.6 KiB: 800 for the inputs + 800 for
        intermediates) but the budget allows 1,000 bytes (1000 B)
    """
    needed = estimate.total
    budget = as_budget(budget)
    if budget is not None:
        refuse_over_budget(estimate, budget, what=what)
    elif needed > BUDGET_FLOOR:
        available, source = available_memory()
        origin = f", {BUDGET_FRACTION:g} of the {human_bytes(available)} available per {source}"
        refuse_over_budget(estimate, int(available * BUDGET_FRACTION), what=what, origin=origin)

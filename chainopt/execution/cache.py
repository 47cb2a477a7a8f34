"""Plans remembered by dims: the one-call API plans a chain once, not on every call.

:func:`chainopt.multiply` is called again and again on Jacobians of the same
shapes (every step of a training loop, every point of a sweep). Planning is
pure: the same dims, strategy and options give the same :class:`Plan`, so
:func:`cached_plan` keeps the last :data:`PLAN_CACHE_SIZE` of them in a
least-recently-used cache (``functools.lru_cache``), keyed on the dims tuple,
the strategy name and the options. Plans are immutable, so a cached plan is
safe to share. Planning "optimal" for four factors takes tens of
microseconds, as long as the products themselves on small chains.
"""

from __future__ import annotations

from functools import lru_cache

from chainopt.core.chain import Chain
from chainopt.core.plan import Plan
from chainopt.core.strategies import plan as make_plan
from chainopt.execution.compiled import compiled_cache_clear

__all__ = ["cached_plan", "plan_cache_clear", "plan_cache_info", "PLAN_CACHE_SIZE"]

#: How many (dims, strategy, options) plans :func:`cached_plan` remembers.
PLAN_CACHE_SIZE = 256


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _plan(dims: tuple[int, ...], strategy: str, options: tuple) -> Plan:
    return make_plan(Chain(dims), strategy, **dict(options))


def cached_plan(dims, strategy: str = "optimal", **options) -> Plan:
    """``chainopt.plan(dims, strategy, **options)``, remembered for the same dims, strategy and options.

    Parameters
    ----------
    dims : sequence of int
        The chain's dims, input first (a :class:`Chain` works too).
    strategy : str
        A name of ``STRATEGIES``.
    **options
        Passed to the strategy; their values must be hashable (ints, None).

    Examples
    --------
    >>> plan_cache_clear()
    >>> p = cached_plan([100, 1000, 10, 1000, 100], "optimal")
    >>> p is cached_plan((100, 1000, 10, 1000, 100), "optimal"), str(p)
    (True, '(A4 A3) (A2 A1)')
    >>> plan_cache_info().hits, plan_cache_info().misses
    (1, 1)
    """
    key = dims.dims if isinstance(dims, Chain) else tuple(dims)  # Chain() validates them on a miss
    return _plan(key, strategy, tuple(sorted(options.items())))


def plan_cache_clear() -> None:
    """Forget every cached plan, and the functions compiled from them for the one-call API."""
    _plan.cache_clear()
    compiled_cache_clear()


def plan_cache_info():
    """``functools`` cache statistics of :func:`cached_plan`: hits, misses, maxsize, currsize."""
    return _plan.cache_info()

"""Seeded random workloads: random Jacobians for a chain, within a memory budget."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from chainopt.core.chain import as_chain
from chainopt.errors import ChainoptError
from chainopt.execution.budget import as_budget, check_memory
from chainopt.execution.executor import memory_estimate

__all__ = ["seeded_rng", "check_seed", "random_jacobians"]


def seeded_rng(seed) -> np.random.Generator:
    """NumPy's ``default_rng(seed)`` for a seed that is ``None``, an int >= 0, a SeedSequence or a Generator.

    Raises
    ------
    ChainoptError
        Naming the seed, for anything else (numpy's own error is a bare ValueError).

    Examples
    --------
    >>> float(seeded_rng(0).standard_normal()) == float(np.random.default_rng(0).standard_normal())
    True
    >>> seeded_rng(-1)
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: seed -1 is not allowed; use an integer >= 0 (or None for fresh entropy)
    """
    return np.random.default_rng(check_seed(seed))


def check_seed(seed, *, library: bool = True):
    """``seed`` if :func:`seeded_rng` accepts it (an int >= 0 becomes an ``int``); otherwise a ChainoptError.

    ``library=False`` words the error for the command line, where ``None`` cannot be given.

    Examples
    --------
    >>> check_seed(3), check_seed(None)
    (3, None)
    """
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        shown = repr(seed) if len(repr(seed)) <= 40 else repr(seed)[:30] + "..."
        hint = " (or None for fresh entropy)" if library else ""
        raise ChainoptError(f"seed {shown} is not allowed; use an integer >= 0{hint}")
    return int(seed)


def random_jacobians(
    chain,
    *,
    seed=0,
    dtype=np.float64,
    budget: int | str | None = None,
    strategies: Sequence[str] = ("fwd", "bwd", "optimal"),
) -> list[np.ndarray]:
    """Seeded random Jacobians ``[A_1, ..., A_{N-1}]`` (layer order) for a chain.

    Entries of ``A_k`` are normal with variance ``1 / n_k``, so products
    along the chain stay of order one. Before allocating anything the bytes
    needed are estimated (the inputs plus the largest peak of intermediates
    among ``strategies``) and checked against the budget.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims, input first.
    seed : int or numpy.random.SeedSequence
        Same seed, same Jacobians.
    dtype : {numpy.float64, numpy.float32}
        Generated directly in this dtype (so the estimate is the real need).
    budget : int, str or None
        Bytes allowed, or a size like ``"2G"``; ``None``: the default budget
        (see :func:`check_memory`).
    strategies : sequence of str
        The strategies that will run on the result (for the estimate).

    Raises
    ------
    MemoryBudgetError
        Saying how many bytes are needed and how many are allowed.

    Examples
    --------
    >>> mats = random_jacobians([3, 4, 2], seed=0, dtype=np.float32)
    >>> [(a.shape, a.dtype.name) for a in mats]
    [((4, 3), 'float32'), ((2, 4), 'float32')]
    >>> random_jacobians([100_000, 100_000, 1], budget=2**30)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.MemoryBudgetError: random Jacobians for 100000 -> 100000 -> 1 would need 80,001,600,000 bytes
        (74.5 GiB: 80,000,800,000 for the inputs + 800,000 for intermediates)
        but the budget allows 1,073,741,824 bytes (1.0 GiB)
    """
    chain = as_chain(chain)
    budget = as_budget(budget)
    seed = check_seed(seed)  # every argument is checked before the memory estimate
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = repr(dtype)
    if dtype not in (np.float32, np.float64):
        raise ChainoptError(f"dtype {dtype} is not supported for random Jacobians; use float64 or float32")
    estimate = memory_estimate(chain, dtype=dtype, strategies=strategies)
    check_memory(estimate, budget, what=f"random Jacobians for {chain}")
    rng = seeded_rng(seed)
    d = chain.dims
    mats = []
    for k in range(chain.n_factors):
        a = rng.standard_normal((d[k + 1], d[k]), dtype=dtype)
        a *= dtype.type(1.0 / math.sqrt(d[k]))
        mats.append(a)
    return mats

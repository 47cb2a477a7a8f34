"""What the benchmark times: the chain, its Jacobians, and one callable per strategy.

:func:`prepare_workload` checks everything a run needs (strategies, layers,
dtype, given Jacobians, memory) before any heavy work; :meth:`Workload.jacobians`
then builds the Jacobians (random, or those of a real network at a random
point) and :func:`timed_functions` turns each strategy into a zero-argument
callable with its plan and predicted multiply-adds.
"""

from __future__ import annotations

import functools
import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.chain import Chain, as_chain
from chainopt.core.strategies import get_strategy
from chainopt.errors import ChainoptError, UnknownStrategyError, shorten
from chainopt.execution import (
    EXECUTORS,
    MULTI_DOT_MAX_FACTORS,
    MemoryEstimate,
    check_jacobians,
    check_memory,
    default_budget,
    execute,
    memory_estimate,
    random_jacobians,
    seeded_rng,
    written_order,
)
from chainopt.layers import mlp, resnet

__all__ = [
    "DEFAULT_STRATEGIES",
    "LAYER_KINDS",
    "check_strategies",
    "network_dims",
    "build_jacobians",
    "Workload",
    "prepare_workload",
    "Timed",
    "timed_functions",
]

#: What :func:`chainopt.benchmark` runs unless told otherwise.
DEFAULT_STRATEGIES = ("fwd", "bwd", "optimal", "multi_dot")

#: Where the Jacobians come from (see :func:`chainopt.benchmark`).
LAYER_KINDS = ("random", "mlp", "resnet")


def check_strategies(strategies: Sequence[str]) -> list[str]:
    """The strategy names as a list, lower case, or an :class:`~chainopt.UnknownStrategyError` naming the valid ones.

    Examples
    --------
    >>> check_strategies("FWD"), check_strategies(["fwd", "optimal"])
    (['fwd'], ['fwd', 'optimal'])
    >>> check_strategies("fwd,bwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainopt.errors.UnknownStrategyError: unknown strategy 'fwd,bwd'; ... strategies=['fwd', 'bwd'] ...
    """
    valid = ", ".join(EXECUTORS)
    if isinstance(strategies, (str, bytes)) or not isinstance(strategies, Iterable):
        if not isinstance(strategies, str):
            raise UnknownStrategyError(f"strategies is {shorten(repr(strategies))} ({type(strategies).__name__}); "
                                       f"expected a strategy name or a list of names, from: {valid}")
        names = [name for name in re.split(r"[,\s]+", strategies) if name]
        if len(names) > 1 and strategies.lower() not in EXECUTORS:
            raise UnknownStrategyError(
                f"unknown strategy {shorten(strategies)!r}; the library takes a list of names: "
                f"strategies={shorten(repr(names), 120)} (only the command line takes commas); choose from: {valid}")
    strategies = [strategies] if isinstance(strategies, str) else list(strategies)  # one name, not its letters
    if not strategies:
        raise UnknownStrategyError(f"no strategies to benchmark; choose from: {valid}")
    for name in strategies:
        if not isinstance(name, str) or name.lower() not in EXECUTORS:
            raise UnknownStrategyError(f"unknown strategy {shorten(repr(name))}; choose one of: {valid}")
    strategies = [name.lower() for name in strategies]
    if len(set(strategies)) != len(strategies):
        raise UnknownStrategyError(f"strategies {shorten(repr(strategies), 200)} name one strategy twice")
    return strategies


def _is_dims(obj) -> bool:
    if isinstance(obj, Chain):
        return True
    if isinstance(obj, np.ndarray):
        return obj.ndim == 1 and obj.dtype.kind in "iu"
    try:
        return len(obj) > 0 and all(isinstance(d, numbers.Integral) for d in obj)
    except TypeError:
        return False


def network_dims(dims: tuple[int, ...], layers: str) -> tuple[int, ...]:
    """The chain a network of kind ``layers`` built on ``dims`` has (see :func:`chainopt.benchmark`).

    Examples
    --------
    >>> network_dims((784, 512, 10), "mlp"), network_dims((5, 5, 5), "resnet"), network_dims((3, 4), "random")
    ((784, 512, 512, 10), (5, 5, 5), (3, 4))
    """
    if layers == "random":
        return tuple(dims)
    if layers == "mlp":
        return (dims[0], *(d for d in dims[1:-1] for _ in range(2)), dims[-1])
    if len(set(dims)) != 1:
        raise ChainoptError(
            f"--layers resnet needs equal dims (a residual block maps R^n to R^n), got {' '.join(map(str, dims))}; "
            "give e.g. 500 500 500 500 for 3 blocks of width 500"
        )
    return dims


def _check_layers(layers: str) -> None:
    if layers not in LAYER_KINDS:
        raise ChainoptError(f"unknown layers {layers!r}; choose one of: {', '.join(LAYER_KINDS)}")


def build_jacobians(dims, layers: str = "random", *, seed=0, dtype=np.float64, activation: str = "tanh",
                    budget: int | None = None, strategies: Sequence[str] = ("fwd", "bwd", "optimal")):
    """``(mats, description)``: the Jacobians :func:`chainopt.benchmark` runs for ``dims`` and a kind of layers.

    ``'random'`` gives exactly ``dims``; ``'mlp'`` the chain
    ``n_1, n_2, n_2, ..., n_N`` of ``layers.mlp(dims, activation, seed)`` at a
    seeded random point; ``'resnet'`` needs equal dims.

    Examples
    --------
    >>> mats, what = build_jacobians([5, 4, 3], "mlp", seed=0)
    >>> [a.shape for a in mats], what
    ([(4, 5), (4, 4), (3, 4)], "mlp([5, 4, 3], 'tanh'): Dense and tanh Jacobians at a random x")
    """
    _check_layers(layers)
    dims = as_chain(dims).dims
    if layers == "resnet":
        network_dims(dims, layers)  # equal dims, or a clear error

    if layers == "random":
        mats = random_jacobians(dims, seed=seed, dtype=dtype, budget=budget, strategies=strategies)
        return mats, "random normal, variance 1/n_k"
    if layers == "mlp":
        net = mlp(dims, activation=activation, seed=seed, dtype=dtype)
        what = f"mlp({list(dims)}, {activation!r}): Dense and {activation} Jacobians at a random x"
    else:
        net = resnet(dims[0], len(dims) - 1, seed=seed, activation=activation, dtype=dtype)
        what = f"resnet({dims[0]}, {len(dims) - 1} blocks, {activation!r}) Jacobians at a random x"
    x = seeded_rng(seed).standard_normal(dims[0]).astype(dtype)
    return net.jacobians(x), what


@dataclass(frozen=True, eq=False)
class Workload:
    """A checked benchmark input: the chain executed and where its Jacobians come from.

    Attributes
    ----------
    chain : Chain
        The chain executed (for ``'mlp'`` layers longer than the dims given).
    dtype : numpy.dtype
        The result dtype.
    layers : str
        ``'random'``, ``'mlp'`` or ``'resnet'`` (for given Jacobians: ``'random'``, unused).
    dims : tuple of int or None
        The dims the Jacobians are built from; ``None`` when they were given.
    given : list of numpy.ndarray or None
        The given Jacobians, checked, in layer order.
    """

    chain: Chain
    dtype: np.dtype
    layers: str
    dims: tuple | None
    given: list | None

    def jacobians(self, *, seed=0, activation: str = "tanh", budget: int | None = None,
                  strategies: Sequence[str] = ()) -> tuple[list, str]:
        """``(arrays, description)``: the given Jacobians, or those built now (checked, finite)."""
        if self.given is not None:
            return self.given, "given"
        mats, described = build_jacobians(self.dims, self.layers, seed=seed, dtype=self.dtype,
                                          activation=activation, budget=budget, strategies=strategies)
        return check_jacobians(self.chain, mats, check_finite=True), described


def prepare_workload(chain_or_mats, *, layers: str = "random", dtype=np.float64, strategies: Sequence[str] = (),
                     budget: int | None = None) -> Workload:
    """Check a benchmark's input and its memory need (``strategies`` plus the reference), before any heavy work.

    Raises
    ------
    ChainoptError, ShapeError, NonFiniteError, MemoryBudgetError
        For unknown layers, an unsupported dtype, bad Jacobians, ``multi_dot``
        on a chain over :data:`~chainopt.execution.MULTI_DOT_MAX_FACTORS`
        factors, or a run that would not fit in ``budget``.
    """
    build = _is_dims(chain_or_mats)
    if build:
        dims = as_chain(chain_or_mats).dims
        _check_layers(layers)
        result_dtype = np.dtype(dtype)
        if result_dtype not in (np.float32, np.float64):
            raise ChainoptError(f"dtype {result_dtype} is not supported; use float64 or float32")
        chain, given = Chain(network_dims(dims, layers)), None
    else:
        dims, chain = None, Chain.from_jacobians(chain_or_mats)
        given = check_jacobians(chain, chain_or_mats, check_finite=True)
        result_dtype = np.result_type(*given)
    if "multi_dot" in strategies and chain.n_factors > MULTI_DOT_MAX_FACTORS:
        raise ChainoptError(
            f"multi_dot searches the order again on every call, in pure Python (O(N^3)); on {chain.n_factors:,} "
            f"factors its time would measure that search, not the product. It is benchmarked on chains of at "
            f"most {MULTI_DOT_MAX_FACTORS} factors: leave it out of strategies"
        )
    est = memory_estimate(chain, dtype=result_dtype, strategies=[*strategies, "bwd"], inputs=build)
    # a network's parameters and its Jacobians exist at once; the check needs the
    # reference, the error scale and one result, each of the Jacobian's size
    inputs = est.inputs * (1 if layers == "random" else 2)
    out_bytes = chain.n_out * chain.n_in * result_dtype.itemsize
    check_memory(MemoryEstimate(inputs, est.intermediates + 3 * out_bytes, est.itemsize), budget,
                 what=f"benchmarking {chain}")
    return Workload(chain, result_dtype, layers, dims, given)


@dataclass(frozen=True)
class Timed:
    """One zero-argument callable per strategy, with its plan (as text) and predicted multiply-adds."""

    funcs: dict
    plans: dict
    madds: dict


def timed_functions(chain: Chain, arrays: Sequence[np.ndarray], strategies: Sequence[str],
                    budget: int | None = None) -> Timed:
    """The callables to time: each strategy's plan run by :func:`~chainopt.execute`; ``multi_dot`` by numpy."""
    exec_budget = default_budget() if budget is None else budget  # resolved once, not per timed call
    written = written_order(arrays)
    funcs: dict[str, Callable[[], np.ndarray]] = {}
    plans: dict[str, str] = {}
    madds: dict[str, int] = {}
    for name in strategies:
        if name == "multi_dot":
            optimal = get_strategy("optimal")(chain)
            funcs[name] = (lambda: np.linalg.multi_dot(written)) if len(written) > 1 else (lambda: written[0].copy())
            plans[name], madds[name] = "numpy's optimal", optimal.cost
        else:
            p = get_strategy(name)(chain)
            funcs[name] = functools.partial(execute, p, arrays, check_finite=False, budget=exec_budget)
            plans[name], madds[name] = str(p), p.cost
    return Timed(funcs, plans, madds)

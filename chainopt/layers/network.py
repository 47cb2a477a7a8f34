"""A network: a composition of layers and its chain of exact Jacobians.

A :class:`Network` is a composition ``x_1 -> f_1 -> x_2 -> ... -> x_N`` of
layers (:mod:`chainopt.layers.kinds`). ``net.factors()`` is its generalized
Jacobian chain (each layer's sizes and tangent/adjoint costs);
``net.jacobian(x, strategy=...)`` plans it (once per sizes and options: the
plan is cached) and runs the plan with the forward pass interleaved (each
layer evaluated just before the plan first reads it), pushing whole blocks
of directions through the layers' tangents and adjoints. ``net.jacobians(x)`` returns the formed
``[A_1, ..., A_{N-1}]`` in layer order. Builders live in
:mod:`chainopt.layers.builders`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.chain import Chain
from chainopt.core.factors import Factor
from chainopt.core.plan import Plan
from chainopt.core.strategies import STRATEGIES
from chainopt.core.strategies import plan as plan_for
from chainopt.errors import ChainoptError, NonFiniteError, ShapeError, UnknownStrategyError
from chainopt.execution import execute_dask, multiply
from chainopt.layers.kinds import Dense, Elementwise
from chainopt.layers.linear import NetworkFactors
from chainopt.layers.program import compile_plan, run_program

__all__ = ["GENERALIZED_STRATEGIES", "Network"]

#: The strategies :meth:`Network.jacobian` runs on the network's factors (tangents, adjoints, products);
#: the other names of :data:`chainopt.STRATEGIES` and ``'multi_dot'`` multiply the formed Jacobians.
GENERALIZED_STRATEGIES = ("fwd", "bwd", "optimal", "preaccumulate")


def _network_strategy(strategy) -> tuple[str, bool]:
    """``(registered name, runs on the factors?)`` of a strategy for a network, matched case-insensitively.

    Raises
    ------
    UnknownStrategyError
        For any other name, listing both kinds.
    """
    name = strategy.lower() if isinstance(strategy, str) else None
    if name in GENERALIZED_STRATEGIES:
        return name, True
    if name is not None and (name in STRATEGIES or name == "multi_dot"):
        return name, False
    formed = [s for s in (*STRATEGIES, "multi_dot") if s not in GENERALIZED_STRATEGIES]
    raise UnknownStrategyError(
        f"unknown strategy {strategy!r}; choose one of: {', '.join(GENERALIZED_STRATEGIES)} (on the network's "
        f"layers), or {', '.join(formed)} (on its formed Jacobians)"
    )


@dataclass(frozen=True, eq=False)
class Network:
    """A composition of layers; its chain of Jacobians in layer order.

    Attributes
    ----------
    layers : tuple
        Each with ``n_in``, ``n_out``, ``__call__``, ``jacobian``, ``jvp``, ``vjp``.

    Raises
    ------
    ShapeError
        If a layer's input size is not the previous layer's output size.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> net = mlp([4, 3, 2], activation="tanh", seed=0)
    >>> net.dims
    (4, 3, 3, 2)
    >>> x = np.linspace(-1, 1, 4)
    >>> [a.shape for a in net.jacobians(x)]
    [(3, 4), (3, 3), (2, 3)]
    >>> net.jacobian(x).shape
    (2, 4)
    """

    layers: tuple

    def __init__(self, layers: Sequence):
        layers = tuple(layers)
        if not layers:
            raise ShapeError("a network needs at least one layer")
        for k in range(1, len(layers)):
            if layers[k].n_in != layers[k - 1].n_out:
                raise ShapeError(
                    f"layer {k + 1} ({layers[k]!r}) takes {layers[k].n_in} inputs but layer {k} "
                    f"({layers[k - 1]!r}) gives {layers[k - 1].n_out}"
                )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "_plans", {})  # (strategy, memory_limit, machines) -> (Plan, program): sizes only

    @property
    def dims(self) -> tuple[int, ...]:
        """``(n_1, ..., n_N)``, input first: the chain of the network's Jacobians."""
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))

    def factors(self) -> tuple[Factor, ...]:
        """The network's generalized Jacobian chain: each layer's :meth:`factor`, input side first.

        Planning a network's Jacobian needs only these (sizes and costs,
        never the weights): ``co.plan(net.factors(), "optimal")``.

        Examples
        --------
        >>> from chainopt.layers import mlp
        >>> [(f.n_in, f.n_out, f.tangent, f.diagonal) for f in mlp([4, 3, 2], seed=0).factors()]
        [(4, 3, 12, False), (3, 3, 3, True), (3, 2, 6, False)]
        """
        return tuple(layer.factor() for layer in self.layers)

    @property
    def chain(self) -> Chain:
        """The :class:`Chain` of :attr:`dims`."""
        return Chain(self.dims)

    def _check_point(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind not in "iuf" or x.shape != (self.dims[0],):
            raise ShapeError(
                f"x has {x.dtype} shape {x.shape} but the network needs a real vector of shape {(self.dims[0],)}"
            )
        if not np.isfinite(x).all():
            raise NonFiniteError(f"x has non-finite entries at {np.flatnonzero(~np.isfinite(x))[:5].tolist()}")
        return x.astype(np.float64) if x.dtype.kind in "iu" else x  # integer points: activations are real

    def _check_direction(self, v, n: int, name: str) -> np.ndarray:
        v = np.asarray(v)
        if v.dtype.kind not in "iufc" or v.ndim not in (1, 2) or v.shape[0] != n:
            raise ShapeError(f"{name} has {v.dtype} shape {v.shape} but needs shape ({n},) or ({n}, k)")
        return v

    def __call__(self, x):
        """The network's output at ``x``, layer after layer."""
        x = self._check_point(x)
        for layer in self.layers:
            x = layer(x)
        return x

    def jacobians(self, x) -> list[np.ndarray]:
        """``[A_1, ..., A_{N-1}]``: each layer's exact Jacobian at ``x``, in one forward pass."""
        x = self._check_point(x)
        mats = []
        for layer in self.layers:
            mats.append(layer.jacobian(x))
            x = layer(x)
        return mats

    def jvp(self, x, v):
        """``J v``: tangents pushed forward, input side first (forward mode, column by column)."""
        x = self._check_point(x)
        v = self._check_direction(v, self.dims[0], "v")
        for layer in self.layers:
            v = layer.jvp(x, v)
            x = layer(x)
        return v

    def vjp(self, x, u):
        """``J^T u``: adjoints pulled back, output side first (reverse mode, row by row)."""
        x = self._check_point(x)
        u = self._check_direction(u, self.dims[-1], "u")
        inputs = []
        for layer in self.layers:
            inputs.append(x)
            x = layer(x)
        for layer, x_k in zip(reversed(self.layers), reversed(inputs)):
            u = layer.vjp(x_k, u)
        return u

    def plan(self, strategy: str = "optimal", *, memory_limit: int | None = None, machines: int | None = 1) -> Plan:
        """The plan of ``strategy`` for the network's :meth:`factors` (computed once, then cached).

        Planning depends on the sizes only, never on the point or the
        weights, so the plan is kept per ``(strategy, memory_limit,
        machines)`` and repeated Jacobians pay no planning.

        Examples
        --------
        >>> from chainopt.layers import mlp
        >>> net = mlp([100, 1000, 10, 1000, 100], seed=0)
        >>> p = net.plan("optimal")
        >>> str(p), p.cost, net.plan("bwd").cost
        ('(A7 (F6 A5)) (F4 ((A3 F2) A1))', 2121000, 12201000)
        >>> net.plan("optimal") is p
        True
        """
        return self._compiled(strategy, memory_limit, machines)[0]

    def _compiled(self, strategy, memory_limit, machines):
        """``(plan, program)`` for these options, from the cache (planned and compiled once)."""
        key = (strategy, memory_limit, machines)
        cached = self._plans.get(key)
        if cached is None:
            name, generalized = _network_strategy(strategy)
            if not generalized:
                raise ChainoptError(
                    f"strategy {strategy!r} plans formed Jacobians, not a network's factors; "
                    f"use one of {', '.join(GENERALIZED_STRATEGIES)}"
                )
            strategy = name
            options = {"memory_limit": memory_limit}
            if machines != 1:
                options["machines"] = machines
            plan = plan_for(self.factors(), strategy, **options)
            cached = self._plans[key] = (plan, compile_plan(plan, self._kinds()))
        return cached

    def _kinds(self) -> tuple[str, ...]:
        """Each layer's kind for :func:`~chainopt.layers.program.compile_plan`."""
        return tuple("dense" if isinstance(layer, Dense) else "diagonal" if isinstance(layer, Elementwise) else "map"
                     for layer in self.layers)

    def linearize(self, x) -> NetworkFactors:
        """One forward pass at ``x``, keeping what the layers' tangents and adjoints need.

        Returns the :class:`~chainopt.layers.linear.NetworkFactors` provider
        (with the network's value as ``output``) that plans run on.

        Examples
        --------
        >>> from chainopt.layers import mlp
        >>> net = mlp([3, 2, 1], seed=0)
        >>> provider = net.linearize(np.ones(3))
        >>> bool(np.allclose(provider.output, net(np.ones(3)))), len(provider)
        (True, 3)
        """
        x = self._check_point(x)
        maps = []
        for layer in self.layers:
            x, linear = layer.linearize(x)
            maps.append(linear)
        return NetworkFactors(maps, x, x.dtype)

    def jacobian(self, x, strategy: str = "optimal", *, memory_limit: int | None = None,
                 machines: int | None = 1, scheduler=None) -> np.ndarray:
        """The network's ``(n_N, n_1)`` Jacobian at ``x``, by the plan of ``strategy``.

        The generalized plan of :meth:`factors` (:meth:`plan`, cached with
        its compiled program, :mod:`chainopt.layers.program`) runs on the
        layers, the forward pass interleaved with it (each layer evaluated
        just before the plan first reads it; the dense layers after the last
        nonlinear one are never evaluated, as the Jacobian does not need
        their values; with a ``scheduler``, :meth:`linearize` runs first,
        whole): TAN pushes
        a whole block of directions through a layer's tangent, ADJ through
        its adjoint, products of formed pieces are matrix products (row or
        column scalings when a piece is diagonal).

        Parameters
        ----------
        x : array_like
            The point, a real vector of the input size.
        strategy : str
            ``'optimal'`` (the cheapest plan), ``'fwd'`` (forward mode
            everywhere: the global tangent sweep, column by column, as
            ``jax.jacfwd`` does), ``'bwd'`` (the global adjoint sweep, row by
            row, as ``jax.jacrev``), ``'preaccumulate'`` (every layer's
            Jacobian formed, then the cheapest bracketing). The other names of
            :data:`chainopt.STRATEGIES` and ``'multi_dot'`` multiply the
            formed Jacobians of :meth:`jacobians` (no options then).
        memory_limit : int, optional
            Tape entries an adjoint may need (see :meth:`Dense.factor
            <chainopt.layers.Dense.factor>`); ``None``: unlimited.
        machines : int or None
            Plan for the shortest makespan on this many machines (``None``:
            unlimited); the default 1 is the fewest multiply-adds.
        scheduler : str or distributed.Client, optional
            Run the plan as a Dask graph on this scheduler (``"threads"``,
            ``"processes"``, ``"sync"`` or a client); ``None`` runs it here,
            operation by operation.

        Examples
        --------
        >>> from chainopt.layers import mlp
        >>> net = mlp([4, 3, 2], seed=0)
        >>> x = np.linspace(-1, 1, 4)
        >>> J = net.jacobian(x)
        >>> J.shape, bool(np.allclose(J, net.jacobian(x, "fwd"))), bool(np.allclose(J, net.jacobian(x, "bwd")))
        ((2, 4), True, True)
        """
        name, generalized = _network_strategy(strategy)
        if not generalized:
            if memory_limit is not None or machines != 1 or scheduler is not None:
                raise ChainoptError(
                    f"strategy {strategy!r} multiplies formed Jacobians and takes no memory_limit, machines "
                    f"or scheduler; use one of {', '.join(GENERALIZED_STRATEGIES)}"
                )
            return multiply(self.jacobians(x), name)
        plan, program = self._compiled(strategy, memory_limit, machines)
        if scheduler is None:
            return run_program(program, self.layers, self._check_point(x))
        return execute_dask(plan, self.linearize(x), scheduler)

    def __repr__(self) -> str:
        return f"Network({list(self.layers)!r})"

"""A network: a composition of layers and its chain of exact Jacobians.

A :class:`Network` is a composition ``x_1 -> f_1 -> x_2 -> ... -> x_N`` of
layers (:mod:`chainopt.layers.kinds`); ``net.jacobians(x)`` returns
``[A_1, ..., A_{N-1}]`` in layer order, each the exact Jacobian of one layer at
the point the forward pass reached, and ``net.jacobian(x, strategy=...)``
multiplies them in a chosen order. Builders live in :mod:`chainopt.layers.builders`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.chain import Chain
from chainopt.core.factors import Factor
from chainopt.errors import NonFiniteError, ShapeError
from chainopt.execution import multiply

__all__ = ["Network"]


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

    def jacobian(self, x, strategy: str = "optimal"):
        """The network's ``(n_N, n_1)`` Jacobian at ``x``, its factors multiplied by ``strategy``.

        ``strategy`` is any name in :data:`chainopt.STRATEGIES` or ``'multi_dot'``.
        """
        return multiply(self.jacobians(x), strategy)

    def __repr__(self) -> str:
        return f"Network({list(self.layers)!r})"

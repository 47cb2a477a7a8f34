"""Chains of Jacobian shapes and the exact costs of the two pure modes.

A chain is the list of dimensions ``dims = (n_1, ..., n_N)``, input first:
layer ``k`` maps ``R^{n_k} -> R^{n_{k+1}}`` and its Jacobian ``A_k`` has shape
``(n_{k+1}, n_k)``. The chain's Jacobian is ``A_{N-1} @ ... @ A_1``.

Costs are counted in multiply-adds: an ``(m, p) @ (p, q)`` product costs
``m * p * q``. Every cost is an exact Python ``int``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.costs import adj_cost, matrix_direction_cost, mul_cost, tan_cost
from chainopt.errors import DimensionError, ShapeError

__all__ = [
    "Chain",
    "as_chain",
    "fwd_cost",
    "bwd_cost",
    "tangent_sweep_cost",
    "adjoint_sweep_cost",
]


def _check_dim(value, position: int) -> int:
    """Return ``value`` as a positive ``int`` or raise naming ``position`` (1-based)."""
    if isinstance(value, (bool, np.bool_)):
        raise DimensionError(f"n_{position} is {value!r}, a bool; dims must be positive integers")
    if not isinstance(value, numbers.Integral):
        raise DimensionError(
            f"n_{position} is {value!r} ({type(value).__name__}); dims must be positive integers"
        )
    value = int(value)
    if value < 1:
        raise DimensionError(f"n_{position} is {value}; dims must be positive integers (>= 1)")
    return value


@dataclass(frozen=True)
class Chain:
    """The dimensions of a chain of Jacobians, input first.

    Parameters
    ----------
    dims : sequence of int
        ``(n_1, ..., n_N)`` with ``N >= 2``; every entry a positive integer.

    Attributes
    ----------
    dims : tuple of int
        The validated dimensions.

    Raises
    ------
    DimensionError
        If there are fewer than two dims or any entry is not a positive
        integer (bools, floats and strings are refused, not converted).

    Examples
    --------
    >>> chain = Chain([784, 512, 256, 10, 1])
    >>> chain.n_factors, chain.shape, chain.kind
    (4, (1, 784), 'wide')
    >>> chain.factor_shape(1)
    (512, 784)
    """

    dims: tuple[int, ...]

    def __init__(self, dims: Sequence[int]):
        if isinstance(dims, Chain):
            dims = dims.dims
        if isinstance(dims, (str, bytes)) or not isinstance(dims, (Sequence, np.ndarray)):
            raise DimensionError(
                f"dims must be a sequence of positive integers, got {type(dims).__name__} {dims!r}"
            )
        if isinstance(dims, np.ndarray) and dims.ndim != 1:
            raise DimensionError(f"dims must be one-dimensional, got an array of shape {dims.shape}")
        if type(dims) is list and all(type(d) is int for d in dims) and min(dims, default=1) >= 1:
            checked = tuple(dims)  # the common case, checked in one pass (a million dims in ~50 ms)
        else:
            checked = tuple(_check_dim(d, k) for k, d in enumerate(dims, start=1))
        if len(checked) < 2:
            raise DimensionError(
                f"a chain needs at least 2 dims (input and output), got {len(checked)}: {checked}"
            )
        object.__setattr__(self, "dims", checked)

    @classmethod
    def from_jacobians(cls, mats: Sequence) -> "Chain":
        """The chain of a list of Jacobians given in layer order ``[A_1, ..., A_{N-1}]``.

        Raises
        ------
        ShapeError
            If a factor is not 2-D or its input size is not the previous
            factor's output size.

        Examples
        --------
        >>> Chain.from_jacobians([np.ones((3, 2)), np.ones((4, 3))]).dims
        (2, 3, 4)
        """
        if isinstance(mats, (str, bytes)) or not hasattr(mats, "__iter__"):
            raise ShapeError(
                f"expected a list of Jacobians [A_1, ..., A_N] in layer order, got {type(mats).__name__} "
                f"{repr(mats)[:60]}"
            )
        mats = list(mats)
        if not mats:
            raise ShapeError("need at least one Jacobian, got an empty list")
        shapes = []
        for k, a in enumerate(mats, start=1):
            shape = np.shape(a)
            if len(shape) != 2:
                raise ShapeError(f"A_{k} must be a 2-D array, got shape {shape}")
            shapes.append(shape)
        dims = [shapes[0][1]]
        for k, (rows, cols) in enumerate(shapes, start=1):
            if cols != dims[-1]:
                raise ShapeError(
                    f"A_{k} has shape {(rows, cols)} but A_{k - 1} has shape {shapes[k - 2]}: "
                    f"A_{k} must have {dims[-1]} columns to follow it (layer order, input first)"
                )
            dims.append(rows)
        try:
            return cls(dims)
        except DimensionError as exc:
            raise ShapeError(f"the Jacobians' shapes {shapes} do not form a chain: {exc}") from None

    @property
    def n_factors(self) -> int:
        """The number of Jacobian factors, ``N - 1``."""
        return len(self.dims) - 1

    @property
    def n_in(self) -> int:
        """The input dimension ``n_1``."""
        return self.dims[0]

    @property
    def n_out(self) -> int:
        """The output dimension ``n_N``."""
        return self.dims[-1]

    @property
    def shape(self) -> tuple[int, int]:
        """The shape ``(n_N, n_1)`` of the chain's Jacobian."""
        return (self.dims[-1], self.dims[0])

    @property
    def kind(self) -> str:
        """``'tall'`` (more outputs than inputs), ``'wide'`` (fewer) or ``'square'``."""
        n_out, n_in = self.shape
        return "tall" if n_out > n_in else "wide" if n_out < n_in else "square"

    def factor_shape(self, k: int) -> tuple[int, int]:
        """The shape ``(n_{k+1}, n_k)`` of factor ``A_k`` (1-based)."""
        if not 1 <= k <= self.n_factors:
            raise ShapeError(f"factor index {k} is out of range 1..{self.n_factors}")
        return (self.dims[k], self.dims[k - 1])

    def reversed(self) -> "Chain":
        """The chain of the transposed Jacobian (dims reversed)."""
        return Chain(self.dims[::-1])

    def __len__(self) -> int:
        return len(self.dims)

    def __str__(self) -> str:
        return " -> ".join(map(str, self.dims))


def as_chain(chain_or_dims) -> Chain:
    """Return a :class:`Chain` for a chain or for a plain sequence of dims."""
    return chain_or_dims if isinstance(chain_or_dims, Chain) else Chain(chain_or_dims)


def _pair_sum(dims: Sequence[int]) -> int:
    """``sum_k dims[k] * dims[k+1]`` as an exact int: the multiply-adds of one direction through every factor."""
    return sum(matrix_direction_cost(n_in, n_out) for n_in, n_out in zip(dims[:-1], dims[1:]))


def fwd_cost(chain) -> int:
    """Multiply-adds of forward mode ``A_{N-1}(...(A_3 (A_2 A_1)))``.

    ``n_1 * sum_{k=2}^{N-1} n_k n_{k+1}``: the Jacobians are given, so ``A_1``
    is not multiplied by an identity (see :func:`tangent_sweep_cost`).

    Examples
    --------
    >>> fwd_cost([784, 512, 256, 10, 1])
    104775328
    """
    dims = as_chain(chain).dims
    return sum(mul_cost(n_out, n_in, dims[0]) for n_in, n_out in zip(dims[1:-1], dims[2:]))


def bwd_cost(chain) -> int:
    """Multiply-adds of reverse mode ``((A_{N-1} A_{N-2}) ...) A_1``.

    ``n_N * sum_{k=1}^{N-2} n_k n_{k+1}``: the mirror image of :func:`fwd_cost`.

    Examples
    --------
    >>> bwd_cost([784, 512, 256, 10, 1])
    535040
    """
    dims = as_chain(chain).dims
    return sum(mul_cost(dims[-1], n_out, n_in) for n_in, n_out in zip(dims[:-2], dims[1:-1]))


def tangent_sweep_cost(chain) -> int:
    """Multiply-adds of the matrix-free tangent model: ``n_1 * sum_{k=1}^{N-1} n_k n_{k+1}``.

    Each of the ``n_1`` unit tangents is pushed through every layer,
    including the first (the identity seed is multiplied, not skipped). This
    is a separate cost model from :func:`fwd_cost`; it is never mixed with it.

    Examples
    --------
    >>> tangent_sweep_cost([2, 3, 1]), fwd_cost([2, 3, 1])
    (18, 6)
    """
    dims = as_chain(chain).dims
    return tan_cost(dims[0], _pair_sum(dims))


def adjoint_sweep_cost(chain) -> int:
    """Multiply-adds of the matrix-free adjoint model: ``n_N * sum_{k=1}^{N-1} n_k n_{k+1}``.

    The mirror image of :func:`tangent_sweep_cost`.

    Examples
    --------
    >>> adjoint_sweep_cost([2, 3, 1]), bwd_cost([2, 3, 1])
    (9, 6)
    """
    dims = as_chain(chain).dims
    return adj_cost(dims[-1], _pair_sum(dims))

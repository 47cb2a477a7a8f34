"""A network linearized at a point: each layer's Jacobian as a linear map, and the provider of them all.

One forward pass (:meth:`Network.linearize <chainopt.layers.Network.linearize>`)
keeps what each layer's tangent and adjoint need, and nothing else:

=================  ====================  ==========================  ==========================
layer              kept                  ``tangent(V)`` (``J V``)    ``adjoint(U)`` (``U J``)
=================  ====================  ==========================  ==========================
``Dense``          nothing (``W``)       ``W @ V``                   ``U @ W``
``Elementwise``    ``d = p'(x)``         ``d[:, None] * V``          ``U * d``
``Residual``       ``d = p'(A x)``       ``V + A^T (d * (A V))``     ``U + ((U A^T) * d) A``
=================  ====================  ==========================  ==========================

Tangents and adjoints take a whole block of directions (columns of ``V``,
rows of ``U``) and answer with one BLAS call per matrix, never a loop over
directions. The maps hold arrays only, so a provider pickles (Dask's
``"processes"`` scheduler ships it to its workers).

:class:`NetworkFactors` is the :class:`~chainopt.execution.FactorProvider` of
these maps, what :func:`~chainopt.execution.run_plan` and
:func:`~chainopt.execution.execute_dask` run a plan on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["DenseMap", "DiagonalMap", "NetworkFactors", "ResidualMap"]


class DenseMap:
    """The Jacobian ``W`` of a dense layer (the same at every point).

    Examples
    --------
    >>> m = DenseMap(np.array([[1.0, 2.0]]))
    >>> m.tangent(np.eye(2)), m.adjoint(np.array([[3.0]]))
    (array([[1., 2.]]), array([[3., 6.]]))
    """

    __slots__ = ("W",)

    def __init__(self, W: np.ndarray):
        self.W = W

    def jacobian(self) -> np.ndarray:
        """``W`` itself (read-only)."""
        return self.W

    def tangent(self, V: np.ndarray) -> np.ndarray:
        """``W @ V``: one matrix product for the whole block."""
        return self.W @ V

    def adjoint(self, U: np.ndarray) -> np.ndarray:
        """``U @ W``: one matrix product for the whole block."""
        return U @ self.W


class DiagonalMap:
    """The diagonal Jacobian ``diag(d)`` of an elementwise layer, kept as ``d``.

    Examples
    --------
    >>> m = DiagonalMap(np.array([2.0, 3.0]))
    >>> m.jacobian(), m.tangent(np.ones((2, 1))).ravel(), m.adjoint(np.ones((1, 2))).ravel()
    (array([2., 3.]), array([2., 3.]), array([2., 3.]))
    """

    __slots__ = ("d",)

    def __init__(self, d: np.ndarray):
        self.d = d

    def jacobian(self) -> np.ndarray:
        """The diagonal ``d``, 1-D (a diagonal factor's Jacobian as plans hold it)."""
        return self.d

    def tangent(self, V: np.ndarray) -> np.ndarray:
        """``diag(d) @ V``: the rows of ``V`` scaled."""
        return self.d[:, None] * V

    def adjoint(self, U: np.ndarray) -> np.ndarray:
        """``U @ diag(d)``: the columns of ``U`` scaled."""
        return U * self.d


class ResidualMap:
    """The Jacobian ``I + A^T diag(d) A`` of a residual block, never formed for a tangent or adjoint.

    Examples
    --------
    >>> m = ResidualMap(np.eye(2), np.array([1.0, 0.0]))
    >>> m.jacobian()
    array([[2., 0.],
           [0., 1.]])
    >>> m.tangent(np.ones((2, 1))).ravel(), m.adjoint(np.ones((1, 2))).ravel()
    (array([2., 1.]), array([2., 1.]))
    """

    __slots__ = ("A", "d")

    def __init__(self, A: np.ndarray, d: np.ndarray):
        self.A, self.d = A, d

    def jacobian(self) -> np.ndarray:
        """``I + A^T diag(d) A``, formed."""
        return np.eye(self.A.shape[1], dtype=self.A.dtype) + self.A.T @ (self.d[:, None] * self.A)

    def tangent(self, V: np.ndarray) -> np.ndarray:
        """``V + A^T (d * (A V))``: two matrix products for the whole block."""
        return V + self.A.T @ (self.d[:, None] * (self.A @ V))

    def adjoint(self, U: np.ndarray) -> np.ndarray:
        """``U + ((U A^T) * d) A``: two matrix products for the whole block."""
        return U + ((U @ self.A.T) * self.d) @ self.A


class NetworkFactors:
    """The factor provider of a network at a point: the layers' Jacobians as linear maps.

    Made by :meth:`Network.linearize <chainopt.layers.Network.linearize>`
    (one forward pass); factor ``k`` (0-based) is layer ``k``. It has the
    :class:`~chainopt.execution.FactorProvider` methods, each one call on the
    whole block.

    Attributes
    ----------
    maps : tuple
        One :class:`DenseMap`, :class:`DiagonalMap` or :class:`ResidualMap` per layer.
    output : numpy.ndarray
        The network's value at the point.
    dtype : numpy.dtype
        The dtype of the unit directions a preaccumulation pushes through.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> provider = mlp([3, 2], seed=0).linearize(np.zeros(3))
    >>> provider.jacobian(0).shape, provider.tangent(0, np.eye(3)).shape, provider.adjoint(0, np.eye(2)).shape
    ((2, 3), (2, 3), (2, 3))
    """

    __slots__ = ("maps", "output", "dtype")

    def __init__(self, maps: Sequence, output: np.ndarray, dtype):
        self.maps = tuple(maps)
        self.output = output
        self.dtype = np.dtype(dtype)

    def __len__(self) -> int:
        return len(self.maps)

    def __getstate__(self):
        return self.maps, self.output, self.dtype

    def __setstate__(self, state):
        self.maps, self.output, self.dtype = state

    def jacobian(self, k: int) -> np.ndarray:
        """Layer ``k``'s Jacobian: ``W``, the diagonal ``d`` (1-D), or a residual block's formed."""
        return self.maps[k].jacobian()

    def tangent(self, k: int, block: np.ndarray) -> np.ndarray:
        """``F'_k @ block`` for a ``(n_in, c)`` block, in one call."""
        return self.maps[k].tangent(block)

    def adjoint(self, k: int, block: np.ndarray) -> np.ndarray:
        """``block @ F'_k`` for a ``(r, n_out)`` block, in one call."""
        return self.maps[k].adjoint(block)

"""The three layer kinds, each with its exact Jacobian and its tangent and adjoint maps.

Every layer offers the same operations, forward and reverse as mirror
images: ``layer(x)``, ``layer.jacobian(x)`` (an ``(n_out, n_in)`` matrix),
``layer.jvp(x, v)`` (``J v``, pushing tangents forward) and
``layer.vjp(x, u)`` (``J^T u``, pulling adjoints back). ``v`` and ``u`` may be
vectors or matrices whose columns are vectors. ``layer.linearize(x)`` is
the forward pass that keeps what the tangent and adjoint need: the output and
the Jacobian as a linear map (:mod:`chainopt.layers.linear`) that pushes a
whole block of directions at once. ``layer.factor()`` is the
layer as a :class:`~chainopt.core.factors.Factor` of a generalized Jacobian
chain: its sizes and what one direction through its tangent or adjoint costs
(multiply-adds), and its tape.

**What the tape counts.** As in Naumann's model (the tape is the number of
edges of the layer's computational graph), a layer's tape is the number of
local partial derivatives its adjoint reads: a dense layer's ``n_out * n_in``
weights, an elementwise layer's ``n`` derivatives ``p'(x)`` (the only values
it must record from the forward pass), a residual block's inner layers' (its
weights ``A`` counted for both of their uses, and ``p'(A x)``). The identity
branch of a residual block reads nothing.

=================  ============================  =====================================
layer              map                           Jacobian
=================  ============================  =====================================
:class:`Dense`     ``W x + b``                   ``W``
:class:`Elementwise`  ``p(x)`` entry by entry    ``diag(p'(x))``
:class:`Residual`  ``x + A^T p(A x)``            ``I + A^T diag(p'(A x)) A``
=================  ============================  =====================================
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from chainopt.core.factors import Factor
from chainopt.errors import DimensionError, ShapeError
from chainopt.layers.activations import Activation, get_activation
from chainopt.layers.linear import DenseMap, DiagonalMap, ResidualMap

__all__ = ["Dense", "Elementwise", "Residual", "positive_int"]


def positive_int(value, name: str) -> int:
    """``value`` as an ``int`` if it is a positive integer (not a bool), else a :class:`DimensionError` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise DimensionError(f"{name} is {value!r}; expected a positive integer")
    return int(value)


def _frozen(a, name: str, ndim: int, dtype=None) -> np.ndarray:
    a = np.array(a, dtype=dtype)
    if a.ndim != ndim or a.dtype.kind not in "fc":
        raise ShapeError(f"{name} must be a {ndim}-D floating array, got {a.dtype} of shape {a.shape}")
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Dense:
    """The affine layer ``x -> W x + b``; its Jacobian is ``W``.

    Attributes
    ----------
    W : numpy.ndarray
        ``(n_out, n_in)``, read-only.
    b : numpy.ndarray
        ``(n_out,)``, read-only.

    Examples
    --------
    >>> layer = Dense([[1.0, 2.0]], [0.5])
    >>> layer(np.array([1.0, 1.0])), layer.jacobian(np.zeros(2))
    (array([3.5]), array([[1., 2.]]))
    """

    W: np.ndarray
    b: np.ndarray

    def __init__(self, W, b=None):
        W = _frozen(W, "W", 2)
        b = np.zeros(W.shape[0], dtype=W.dtype) if b is None else b
        b = _frozen(b, "b", 1, W.dtype)
        if b.shape != (W.shape[0],):
            raise ShapeError(f"b has shape {b.shape} but W of shape {W.shape} needs {(W.shape[0],)}")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)

    @property
    def n_in(self) -> int:
        """Input size, ``W.shape[1]``."""
        return self.W.shape[1]

    @property
    def n_out(self) -> int:
        """Output size, ``W.shape[0]``."""
        return self.W.shape[0]

    def __call__(self, x):
        """``W x + b``."""
        return self.W @ x + self.b

    def jacobian(self, x):
        """The Jacobian ``W`` (the same at every ``x``)."""
        return self.W

    def linearize(self, x) -> tuple[np.ndarray, DenseMap]:
        """``(W x + b, W)``: the output, and the Jacobian as a linear map (nothing to keep)."""
        return self.W @ x + self.b, DenseMap(self.W)

    def jvp(self, x, v):
        """``J v = W v``."""
        return self.W @ v

    def vjp(self, x, u):
        """``J^T u = W^T u``."""
        return self.W.T @ u

    def factor(self) -> Factor:
        """The layer as a factor: ``t = a = tape = n_in * n_out`` (a matrix-vector product with ``W``).

        The factor is ``given``: its Jacobian ``W`` is already a matrix, so
        preaccumulating it costs nothing (the plan multiplies by ``W``
        directly instead of pushing ``n_in`` unit directions through it).

        Examples
        --------
        >>> Dense(np.ones((3, 4))).factor()
        Factor(n_in=4, n_out=3, tangent=12, adjoint=12, tape=12, diagonal=False, given=True)
        """
        cost = self.n_in * self.n_out
        return Factor(n_in=self.n_in, n_out=self.n_out, tangent=cost, adjoint=cost, tape=cost, given=True)

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out})"


@dataclass(frozen=True, eq=False)
class Elementwise:
    """``x -> p(x)`` entry by entry; its Jacobian is the diagonal matrix ``diag(p'(x))``.

    Examples
    --------
    >>> Elementwise(3, "relu").jacobian(np.array([-1.0, 0.0, 2.0]))
    array([[0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 1.]])
    """

    n: int
    activation: Activation

    def __init__(self, n: int, activation: str | Activation = "tanh"):
        object.__setattr__(self, "n", positive_int(n, "n"))
        object.__setattr__(self, "activation", get_activation(activation))

    @property
    def n_in(self) -> int:
        """Input size, ``n``."""
        return self.n

    @property
    def n_out(self) -> int:
        """Output size, ``n``."""
        return self.n

    def __call__(self, x):
        """``p(x)``, entry by entry."""
        return self.activation.f(x)

    def jacobian(self, x):
        """The Jacobian ``diag(p'(x))`` as a dense matrix."""
        return np.diag(self.activation.df(x))

    def linearize(self, x) -> tuple[np.ndarray, DiagonalMap]:
        """``(p(x), diag(p'(x)))``: the output, and the Jacobian kept as its diagonal."""
        y = self.activation.f(x)
        return y, DiagonalMap(self.activation.derivative(x, y))

    def jvp(self, x, v):
        """``J v = p'(x) * v``, row by row for a matrix ``v``."""
        d = self.activation.df(x)
        return d * v if np.ndim(v) == 1 else d[:, None] * v

    def vjp(self, x, u):
        """``J^T u``, equal to ``J u`` (the Jacobian is diagonal)."""
        return self.jvp(x, u)  # diagonal, so symmetric

    def factor(self) -> Factor:
        """The layer as a diagonal factor: ``t = a = tape = n`` (a scaling by ``p'(x)``).

        Examples
        --------
        >>> Elementwise(5, "tanh").factor()
        Factor(n_in=5, n_out=5, tangent=5, adjoint=5, tape=5, diagonal=True, given=False)
        """
        return Factor(n_in=self.n, n_out=self.n, tangent=self.n, adjoint=self.n, tape=self.n, diagonal=True)

    def __repr__(self) -> str:
        return f"Elementwise({self.n}, {self.activation.name!r})"


@dataclass(frozen=True, eq=False)
class Residual:
    """The residual block ``x -> x + A^T p(A x)``; its Jacobian is ``I + A^T diag(p'(A x)) A``.

    The Jacobian is symmetric, so ``jvp`` and ``vjp`` coincide.

    Attributes
    ----------
    A : numpy.ndarray
        ``(hidden, width)``, read-only.
    activation : Activation

    Examples
    --------
    >>> block = Residual(np.eye(2), "identity")
    >>> block(np.array([1.0, 2.0])), block.jacobian(np.zeros(2))
    (array([2., 4.]), array([[2., 0.],
           [0., 2.]]))
    """

    A: np.ndarray
    activation: Activation

    def __init__(self, A, activation: str | Activation = "tanh"):
        object.__setattr__(self, "A", _frozen(A, "A", 2))
        object.__setattr__(self, "activation", get_activation(activation))

    @property
    def n_in(self) -> int:
        """Input size, ``A.shape[1]``."""
        return self.A.shape[1]

    @property
    def n_out(self) -> int:
        """Output size, ``A.shape[1]`` (the same as the input)."""
        return self.A.shape[1]

    def __call__(self, x):
        """``x + A^T p(A x)``."""
        return x + self.A.T @ self.activation.f(self.A @ x)

    def jacobian(self, x):
        """The Jacobian ``I + A^T diag(p'(A x)) A``."""
        d = self.activation.df(self.A @ x)
        return np.eye(self.n_in, dtype=self.A.dtype) + self.A.T @ (d[:, None] * self.A)

    def linearize(self, x) -> tuple[np.ndarray, ResidualMap]:
        """``(x + A^T p(A x), I + A^T diag(p'(A x)) A)``: the output, and the Jacobian as a map keeping ``p'(A x)``."""
        z = self.A @ x
        inner = self.activation.f(z)
        return x + self.A.T @ inner, ResidualMap(self.A, self.activation.derivative(z, inner))

    def jvp(self, x, v):
        """``J v``, without forming ``J``."""
        d = self.activation.df(self.A @ x)
        inner = self.A @ v
        return v + self.A.T @ (d * inner if np.ndim(v) == 1 else d[:, None] * inner)

    def vjp(self, x, u):
        """``J^T u``, equal to ``J u`` (the Jacobian is symmetric)."""
        return self.jvp(x, u)

    def factor(self) -> Factor:
        """The block as a dense factor: its inner layers ``A``, ``p``, ``A^T`` plus the identity.

        With ``A`` of shape ``(h, n)``: ``t = a = hn + h + hn + n`` (the inner
        matrix-vector products, the scaling by ``p'(A x)``, the identity's
        ``n`` additions); the tape is the inner layers' ``2hn + h``.

        Examples
        --------
        >>> Residual(np.ones((2, 3))).factor()
        Factor(n_in=3, n_out=3, tangent=17, adjoint=17, tape=14, diagonal=False, given=False)
        """
        h, n = self.A.shape
        tape = 2 * h * n + h
        return Factor(n_in=n, n_out=n, tangent=tape + n, adjoint=tape + n, tape=tape)

    def __repr__(self) -> str:
        return f"Residual({self.n_in}, hidden={self.A.shape[0]}, {self.activation.name!r})"

"""Real differentiable layers and networks that yield exact Jacobians.

A :class:`Network` is a composition ``x_1 -> f_1 -> x_2 -> ... -> x_N`` of
layers; ``net.jacobians(x)`` returns ``[A_1, ..., A_{N-1}]`` in layer order,
each the exact Jacobian of one layer at the point the forward pass reached,
and ``net.jacobian(x, strategy=...)`` multiplies them in a chosen order.

Every layer offers the same four operations, forward and reverse as mirror
images: ``layer(x)``, ``layer.jacobian(x)`` (an ``(n_out, n_in)`` matrix),
``layer.jvp(x, v)`` (``J v``, pushing tangents forward) and
``layer.vjp(x, u)`` (``J^T u``, pulling adjoints back). ``v`` and ``u`` may be
vectors or matrices whose columns are vectors.

=================  ============================  =====================================
layer              map                           Jacobian
=================  ============================  =====================================
:class:`Dense`     ``W x + b``                   ``W``
:class:`Elementwise`  ``p(x)`` entry by entry    ``diag(p'(x))``
:class:`Residual`  ``x + A^T p(A x)``            ``I + A^T diag(p'(A x)) A``
=================  ============================  =====================================

Builders :func:`mlp` and :func:`resnet` make seeded, reproducible networks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.core.chain import Chain
from chainopt.errors import ChainoptError, DimensionError, NonFiniteError, ShapeError
from chainopt.execution import multiply, seeded_rng

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "Dense",
    "Elementwise",
    "Residual",
    "Network",
    "mlp",
    "resnet",
]


# -- activations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """A scalar function applied entry by entry, with its derivative side by side.

    Attributes
    ----------
    name : str
    f : callable
        ``p(x)`` on an array.
    df : callable
        ``p'(x)`` on an array (same shape).
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # stable for large |x|, no overflow


def _relu_derivative(x):
    return (x > 0).astype(x.dtype)  # 0 at x = 0, the usual convention


#: Activations by name.
ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "relu": Activation("relu", lambda x: np.maximum(x, 0), _relu_derivative),
    "softplus": Activation("softplus", lambda x: np.logaddexp(0, x).astype(x.dtype, copy=False), _sigmoid),
    "identity": Activation("identity", lambda x: x.copy(), np.ones_like),
}


def get_activation(activation: str | Activation) -> Activation:
    """The activation called ``activation`` (an :class:`Activation` passes through).

    Examples
    --------
    >>> get_activation("tanh").name
    'tanh'
    >>> get_activation("gelu")
    Traceback (most recent call last):
    ...
    chainopt.errors.ChainoptError: unknown activation 'gelu'; choose one of: tanh, sigmoid, relu, softplus, identity
    """
    if isinstance(activation, Activation):
        return activation
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise ChainoptError(
            f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}"
        ) from None


# -- layers --------------------------------------------------------------------------


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
        return self.W.shape[1]

    @property
    def n_out(self) -> int:
        return self.W.shape[0]

    def __call__(self, x):
        return self.W @ x + self.b

    def jacobian(self, x):
        return self.W

    def jvp(self, x, v):
        return self.W @ v

    def vjp(self, x, u):
        return self.W.T @ u

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
        object.__setattr__(self, "n", _positive(n, "n"))
        object.__setattr__(self, "activation", get_activation(activation))

    @property
    def n_in(self) -> int:
        return self.n

    @property
    def n_out(self) -> int:
        return self.n

    def __call__(self, x):
        return self.activation.f(x)

    def jacobian(self, x):
        return np.diag(self.activation.df(x))

    def jvp(self, x, v):
        d = self.activation.df(x)
        return d * v if np.ndim(v) == 1 else d[:, None] * v

    def vjp(self, x, u):
        return self.jvp(x, u)  # diagonal, so symmetric

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
        return self.A.shape[1]

    @property
    def n_out(self) -> int:
        return self.A.shape[1]

    def __call__(self, x):
        return x + self.A.T @ self.activation.f(self.A @ x)

    def jacobian(self, x):
        d = self.activation.df(self.A @ x)
        return np.eye(self.n_in, dtype=self.A.dtype) + self.A.T @ (d[:, None] * self.A)

    def jvp(self, x, v):
        d = self.activation.df(self.A @ x)
        inner = self.A @ v
        return v + self.A.T @ (d * inner if np.ndim(v) == 1 else d[:, None] * inner)

    def vjp(self, x, u):
        return self.jvp(x, u)

    def __repr__(self) -> str:
        return f"Residual({self.n_in}, hidden={self.A.shape[0]}, {self.activation.name!r})"


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise DimensionError(f"{name} is {value!r}; expected a positive integer")
    return int(value)


# -- networks ------------------------------------------------------------------------


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

    @property
    def chain(self) -> Chain:
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


# -- builders ------------------------------------------------------------------------


def _dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ChainoptError(f"dtype {dtype} is not supported; use float64 or float32")
    return dtype


def mlp(widths: Sequence[int], activation: str = "tanh", seed=0, *, dtype=np.float64) -> Network:
    """A seeded multilayer perceptron: ``Dense`` then activation, the last ``Dense`` linear.

    Dense and activation are separate layers, so the chain shows the
    activations' diagonal Jacobians: widths ``(w_1, ..., w_L)`` give dims
    ``(w_1, w_2, w_2, w_3, w_3, ..., w_{L-1}, w_{L-1}, w_L)``. Weights are
    normal with variance ``1 / fan_in``, biases normal with deviation 0.1.

    Examples
    --------
    >>> net = mlp([784, 512, 256, 10], activation="tanh", seed=0)
    >>> net.dims
    (784, 512, 512, 256, 256, 10)
    >>> mlp([2, 3], seed=1).layers[0].W.round(3)
    array([[ 0.244,  0.581],
           [ 0.234, -0.921],
           [ 0.64 ,  0.316]])
    """
    widths = [_positive(w, f"width {k}") for k, w in enumerate(widths, start=1)]
    if len(widths) < 2:
        raise DimensionError(f"an mlp needs at least 2 widths (input and output), got {widths}")
    act = get_activation(activation)
    dtype = _dtype(dtype)
    rng = seeded_rng(seed)
    layers: list = []
    for k, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        if k:
            layers.append(Elementwise(n_in, act))
        W = rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)
        b = 0.1 * rng.standard_normal(n_out)
        layers.append(Dense(W.astype(dtype), b.astype(dtype)))
    return Network(layers)


def resnet(width: int, depth: int, seed=0, *, activation: str = "tanh", hidden: int | None = None, dtype=np.float64) -> Network:
    """A seeded stack of ``depth`` residual blocks ``x -> x + A^T p(A x)`` on ``R^width``.

    ``A`` is ``(hidden, width)`` (``hidden`` defaults to ``width``), normal with
    variance ``1 / (width * depth)`` so the blocks stay near the identity.
    The chain is ``width`` repeated ``depth + 1`` times.

    Examples
    --------
    >>> resnet(8, 3, seed=0).dims
    (8, 8, 8, 8)
    """
    width = _positive(width, "width")
    depth = _positive(depth, "depth")
    hidden = width if hidden is None else _positive(hidden, "hidden")
    act = get_activation(activation)
    dtype = _dtype(dtype)
    rng = seeded_rng(seed)
    scale = 1.0 / math.sqrt(width * depth)
    return Network([Residual((scale * rng.standard_normal((hidden, width))).astype(dtype), act) for _ in range(depth)])


"""The one table of elementwise functions, each with its derivative side by side.

Layers (:class:`~chainopt.layers.Elementwise`, :class:`~chainopt.layers.Residual`)
and the traced graph (:mod:`chainopt.autodiff.graph`'s ``tanh``, ``log``, ...)
both evaluate these entries, so ``"tanh"`` is the same code in ``chainopt bench``
and in ``chainopt sweep``. This module imports numpy only.

Every derivative takes the input ``x`` and the output ``y = p(x)`` (the graph
has ``y`` already; ``exp' = y`` then costs nothing). Where ``y`` would lose
precision the derivative is computed from ``x``: ``tanh'(20)`` is ``1.7e-17``,
not ``1 - tanh(20)**2 = 0``. Nothing overflows for any finite float input:
``sigmoid``, ``softplus`` and the derivatives of ``tanh`` and ``sigmoid`` are
written with ``exp(-|x|)``, which can only underflow.

Examples
--------
>>> act = ELEMENTWISE["sigmoid"]
>>> x = np.array([-800.0, 0.0, 40.0])
>>> act.f(x), act.df(x)
(array([0. , 0.5, 1. ]), array([0.00000000e+00, 2.50000000e-01, 4.24835426e-18]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chainopt.errors import ChainoptError

__all__ = ["ACTIVATIONS", "ELEMENTWISE", "Activation", "get_activation"]


@dataclass(frozen=True)
class Activation:
    """A scalar function applied entry by entry, with its derivative side by side.

    Attributes
    ----------
    name : str
    f : callable
        ``p(x)`` on an array.
    derivative : callable
        ``p'(x)`` from the input ``x`` and the output ``y = p(x)`` (same shape).
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def df(self, x: np.ndarray) -> np.ndarray:
        """``p'(x)`` on an array (evaluates ``p(x)`` first if the rule needs it)."""
        return self.derivative(x, self.f(x))


# -- numerically careful pieces ------------------------------------------------------


def _sigmoid(x):
    """``1 / (1 + exp(-x))`` with full relative precision on both sides, never overflowing."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def _sigmoid_derivative(x, y):
    """``sigmoid(x) sigmoid(-x) = e / (1 + e)^2`` with ``e = exp(-|x|)`` (no cancellation in ``y (1 - y)``)."""
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def _tanh_derivative(x, y):
    """``1 - tanh(x)^2 = 4 e / (1 + e)^2`` with ``e = exp(-2|x|)`` (no cancellation, no cosh overflow).

    On arrays the steps run in place on one new array (a layer's derivative
    is on the path of every Jacobian: the allocations cost a quarter of it).
    """
    e = -2 * np.abs(x)
    if np.ndim(e) == 0 or e.dtype.kind != "f":
        e = np.exp(e)
        return 4 * e / (1 + e) ** 2
    np.exp(e, out=e)
    denominator = e + 1
    denominator *= denominator
    e *= 4
    e /= denominator
    return e


def _softplus(x):
    """``log(1 + exp(x))`` without overflow (``logaddexp``), in ``x``'s float type."""
    return np.logaddexp(0, x).astype(np.result_type(x, np.float32), copy=False)


def _relu_derivative(x, y):
    return np.greater(x, 0).astype(np.result_type(x, np.float32))  # 0 at x = 0, the usual convention


def _entry(name, f, derivative) -> tuple[str, Activation]:
    return name, Activation(name, f, derivative)


#: Every elementwise function by name, value and derivative side by side (the one table).
ELEMENTWISE: dict[str, Activation] = dict([
    _entry("log", np.log, lambda x, y: 1 / x),
    _entry("exp", np.exp, lambda x, y: y),
    _entry("sqrt", np.sqrt, lambda x, y: 0.5 / y),
    _entry("sin", np.sin, lambda x, y: np.cos(x)),
    _entry("cos", np.cos, lambda x, y: -np.sin(x)),
    _entry("tan", np.tan, lambda x, y: 1 + y * y),
    _entry("tanh", np.tanh, _tanh_derivative),
    _entry("sigmoid", _sigmoid, _sigmoid_derivative),
    _entry("relu", lambda x: np.maximum(x, 0), _relu_derivative),
    _entry("softplus", _softplus, lambda x, y: _sigmoid(x)),
    _entry("asinh", np.arcsinh, lambda x, y: 1 / np.hypot(x, 1)),
    _entry("identity", lambda x: np.array(x, copy=True), lambda x, y: np.ones_like(y)),
])

#: The entries a network may use between its layers: defined everywhere, stable far out.
ACTIVATIONS: dict[str, Activation] = {name: ELEMENTWISE[name] for name in
                                      ("tanh", "sigmoid", "relu", "softplus", "identity")}


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

"""Local derivatives as linear maps, and the broadcasting rules tangents and adjoints follow.

A :class:`Partial` is one edge of the graph: ``d f_k / d x_l`` applied forward
to a tangent (``jvp``) or backward to an adjoint (``vjp``), with the
multiply-adds one application costs. The builders here cover the two common
shapes: a diagonal (elementwise) partial and a partial that is +1 or -1. This
module knows nothing of nodes (:mod:`chainopt.autodiff.graph` builds on it).

Examples
--------
>>> p = diagonal(np.array([2.0, 3.0]), (2,), (2,))
>>> p.jvp(np.ones(2)), p.vjp(np.ones(2)), p.madds
(array([2., 3.]), array([2., 3.]), 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Partial", "as_value", "diagonal", "shape_of", "signed"]


@dataclass(frozen=True, slots=True)
class Partial:
    """The local derivative ``d f_k / d x_l`` of a node with respect to one argument.

    Attributes
    ----------
    jvp : callable
        ``t -> J t``: the argument's tangent to its share of the node's tangent.
    vjp : callable
        ``g -> J^T g``: the node's adjoint to its share of the argument's adjoint.
    madds : int
        Multiply-adds one application of either map costs.
    """

    jvp: Callable
    vjp: Callable
    madds: int


def as_value(v):
    """A float for scalars, a float ndarray otherwise (the one numeric normal form)."""
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a


def shape_of(v) -> tuple:
    """``np.shape`` for the normal form (float or ndarray), without numpy's dispatch overhead."""
    return v.shape if isinstance(v, np.ndarray) else () if isinstance(v, float) else np.shape(v)


def _fit(t, shape):
    """A tangent contribution broadcast to the node's shape."""
    if shape_of(t) == shape:
        return t
    return np.broadcast_to(t, shape).astype(float)


def _unbroadcast(g, shape):
    """An adjoint summed back over the axes broadcasting added (the mirror of :func:`_fit`)."""
    if shape_of(g) == shape:
        return g
    g = np.asarray(g)
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return as_value(g.reshape(shape))


def diagonal(d, arg_shape, out_shape) -> Partial:
    """An elementwise partial: multiply by ``d`` (one multiply-add per output entry)."""
    d = as_value(d)
    return Partial(
        jvp=lambda t: _fit(d * t, out_shape),
        vjp=lambda g: _unbroadcast(d * g, arg_shape),
        madds=math.prod(out_shape),
    )


def signed(sign, arg_shape, out_shape) -> Partial:
    """A partial that is +1 or -1 everywhere: no multiply-adds."""
    if sign > 0:
        return Partial(jvp=lambda t: _fit(t, out_shape), vjp=lambda g: _unbroadcast(g, arg_shape), madds=0)
    return Partial(jvp=lambda t: _fit(-t, out_shape), vjp=lambda g: _unbroadcast(-g, arg_shape), madds=0)

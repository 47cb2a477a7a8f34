"""The traced computational graph: nodes that know their value, their arguments and their users.

Ordinary Python code run on :class:`Node` values records, for every operation,
a new node ``x_k = f_k(x_l, ...)`` with

- ``value``: the number (or NumPy array) ``x_k``, computed right away;
- ``fate``: its arguments ``x_l`` (the notes' Fate(k), the predecessors);
- ``sons``: the nodes that use it (the notes' Son(k), the successors);
- ``partials``: one :class:`Partial` per argument, the local derivative
  ``d f_k / d x_l`` as a linear map that can be applied forward (to a
  tangent) or backward (to an adjoint).

As in micrograd, each operation's value and its local derivative sit side by
side below. The sweeps that apply the chain rule live in
:mod:`chainopt.autodiff`.

Multiply-adds are counted per application of a partial: a diagonal
(elementwise) partial costs one per output entry, a matrix product
``(m, p) @ (p, q)`` costs ``m*p*q``. Partials that are structurally +1 or -1
(``+``, ``-``, negation, ``sum``, ``transpose``) cost nothing.

Examples
--------
>>> x = variable(2.0, name="x")
>>> y = log(x)
>>> p = y + sqrt(y)
>>> round(p.value, 8), [arg.op for arg in p.fate], [son.op for son, _ in y.sons]
(1.52570179, ['log', 'sqrt'], ['sqrt', 'add'])
"""

from __future__ import annotations

import math

import numpy as np

from chainopt.autodiff.partials import Partial, as_value, diagonal, shape_of, signed
from chainopt.errors import ShapeError
from chainopt.layers.activations import ELEMENTWISE as _TABLE
from chainopt.layers.activations import Activation

__all__ = [
    "ELEMENTWISE",
    "Node",
    "Partial",
    "add",
    "asinh",
    "constant",
    "cos",
    "divide",
    "dot",
    "exp",
    "log",
    "matmul",
    "multiply",
    "negative",
    "power",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "subtract",
    "sum",
    "tan",
    "tanh",
    "transpose",
    "value_of",
    "variable",
]

def value_of(x):
    """The numeric value of a node or of a plain number/array."""
    return x.value if isinstance(x, Node) else as_value(x)


class Node:
    """A traced value: one vertex ``x_k`` of the computational graph.

    Create inputs with :func:`variable`; every operation on nodes creates a
    new node. Plain numbers and arrays mixed in are constants, not nodes.

    Attributes
    ----------
    value : float or numpy.ndarray
        The value computed when the node was created.
    op : str
        The operation that made it (``'input'``, ``'const'``, ``'add'``, ``'log'``, ...).
    fate : tuple of Node
        Its arguments, in order (Fate(k) in the notes).
    partials : tuple of Partial
        ``partials[i]`` is the derivative with respect to ``fate[i]``.
    sons : list of (Node, int)
        The nodes that use it, each with the argument position it fills
        (Son(k) in the notes); appended as users are created.
    name : str or None
        An optional label for reports.
    """

    __slots__ = ("fate", "name", "op", "partials", "sons", "value")
    __array_ufunc__ = None  # ndarray <op> Node defers to Node's reflected operator

    def __init__(self, value, op="input", fate=(), partials=(), name=None):
        self.value = value
        self.op = op
        self.fate = tuple(fate)
        self.partials = tuple(partials)
        self.sons = []
        self.name = name
        for position, arg in enumerate(self.fate):
            arg.sons.append((self, position))

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the node's value (``()`` for a scalar)."""
        return shape_of(self.value)

    @property
    def ndim(self) -> int:
        """The number of axes of the node's value."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of entries of the node's value."""
        return math.prod(self.shape)

    @property
    def T(self):
        """The transpose, a new node (see :func:`transpose`)."""
        return transpose(self)

    def sum(self, axis=None):
        """The sum over ``axis`` (all entries by default), a new node (see :func:`sum`)."""
        return sum(self, axis)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        value = self.value if np.ndim(self.value) == 0 else f"array of shape {self.shape}"
        return f"<Node{label} {self.op} = {value}>"

    # Operators build nodes through the functions below (reflected ones with the operands swapped).
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return subtract(self, other)

    def __rsub__(self, other):
        return subtract(other, self)

    def __mul__(self, other):
        return multiply(self, other)

    def __rmul__(self, other):
        return multiply(other, self)

    def __truediv__(self, other):
        return divide(self, other)

    def __rtruediv__(self, other):
        return divide(other, self)

    def __pow__(self, other):
        return power(self, other)

    def __rpow__(self, other):
        return power(other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return negative(self)


    def __pos__(self):
        return self


def variable(value, name: str | None = None) -> Node:
    """An input node ``x_i`` holding ``value`` (a number or an array).

    Examples
    --------
    >>> variable(2, name="x")
    <Node 'x' input = 2.0>
    """
    return Node(as_value(value), "input", name=name)


def constant(value, name: str | None = None) -> Node:
    """A node with no arguments that is not an input: its derivative is always zero."""
    return Node(as_value(value), "const", name=name)


def _make(op, value, rules):
    """A node for ``value`` from ``rules`` [(argument, () -> Partial)]; a plain constant if no argument is a Node.

    The partials are built only for arguments that are nodes.
    """
    value = as_value(value)
    fate = [(arg, rule) for arg, rule in rules if isinstance(arg, Node)]
    if not fate:
        return value
    return Node(value, op, [arg for arg, _ in fate], [rule() for _, rule in fate])


def _broadcast_shape(op, a, b):
    if shape_of(a) == shape_of(b):
        return shape_of(a)
    try:
        return np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ShapeError(f"{op}: shapes {np.shape(a)} and {np.shape(b)} do not broadcast") from None


# -- arithmetic: value and local derivatives side by side ----------------------


def add(a, b):
    """``a + b``; both partials are +1."""
    av, bv = value_of(a), value_of(b)
    sa, sb, s = shape_of(av), shape_of(bv), _broadcast_shape("add", av, bv)
    return _make("add", np.add(av, bv), [(a, lambda: signed(+1, sa, s)), (b, lambda: signed(+1, sb, s))])


def subtract(a, b):
    """``a - b``; partials +1 and -1."""
    av, bv = value_of(a), value_of(b)
    sa, sb, s = shape_of(av), shape_of(bv), _broadcast_shape("subtract", av, bv)
    return _make("sub", np.subtract(av, bv), [(a, lambda: signed(+1, sa, s)), (b, lambda: signed(-1, sb, s))])


def negative(a):
    """``-a``; partial -1."""
    av = value_of(a)
    return _make("neg", np.negative(av), [(a, lambda: signed(-1, shape_of(av), shape_of(av)))])


def multiply(a, b):
    """``a * b`` elementwise; partials ``b`` and ``a``."""
    av, bv = value_of(a), value_of(b)
    sa, sb, s = shape_of(av), shape_of(bv), _broadcast_shape("multiply", av, bv)
    return _make("mul", np.multiply(av, bv), [(a, lambda: diagonal(bv, sa, s)), (b, lambda: diagonal(av, sb, s))])


def divide(a, b):
    """``a / b`` elementwise; partials ``1/b`` and ``-a/b^2 = -(a/b)/b``."""
    av, bv = value_of(a), value_of(b)
    sa, sb, s = shape_of(av), shape_of(bv), _broadcast_shape("divide", av, bv)
    out = np.divide(av, bv)
    return _make("div", out, [(a, lambda: diagonal(np.divide(1.0, bv), sa, s)),
                              (b, lambda: diagonal(-out / bv, sb, s))])


def _log_base_partial(out, av):
    """``a^b log a``, taken as 0 where ``a^b`` is 0 (the limit for ``a -> 0+``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.equal(out, 0), 0.0, out * np.log(av))


def power(a, b):
    """``a ** b`` elementwise; partials ``b a^(b-1)`` and ``a^b log a``."""
    av, bv = value_of(a), value_of(b)
    sa, sb, s = shape_of(av), shape_of(bv), _broadcast_shape("power", av, bv)
    out = np.power(av, bv)
    return _make("pow", out, [(a, lambda: diagonal(bv * np.power(av, np.subtract(bv, 1)), sa, s)),
                              (b, lambda: diagonal(_log_base_partial(out, av), sb, s))])


# -- elementwise functions: the one table's value and derivative, as graph nodes ----


#: name -> :class:`~chainopt.layers.activations.Activation` (value ``f``, derivative from ``x`` and
#: ``y = f(x)``): the entries of :data:`chainopt.layers.ELEMENTWISE` the graph offers, so the
#: layers and the graph run the same code.
ELEMENTWISE: dict[str, Activation] = {name: _TABLE[name] for name in (
    "log", "exp", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "asinh")}


def _elementwise(name):
    act = ELEMENTWISE[name]

    def apply(x):
        xv = np.asarray(value_of(x))
        y = act.f(xv)
        return _make(name, y, [(x, lambda: diagonal(act.derivative(xv, y), xv.shape, xv.shape))])

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"``{name}(x)`` elementwise, with its derivative as a diagonal partial."
    return apply


log, exp, sqrt, sin, cos, tan, tanh, sigmoid, relu, softplus, asinh = map(_elementwise, ELEMENTWISE)


# -- linear algebra ---------------------------------------------------------------


def _as_matrix(v, side):
    """A 1-D operand as a row (left) or column (right) matrix, as ``np.matmul`` treats it."""
    v = np.asarray(v)
    if v.ndim == 2:
        return v
    if v.ndim == 1:
        return v[None, :] if side == "left" else v[:, None]
    raise ShapeError(f"matmul needs 1-D or 2-D operands, got the {side} one with shape {v.shape}")


def matmul(a, b):
    """``a @ b`` for vectors and matrices; an ``(m, p) @ (p, q)`` partial costs ``m*p*q``.

    Examples
    --------
    >>> A = variable(np.eye(2) * 3)
    >>> (A @ np.ones(2)).value
    array([3., 3.])
    """
    av, bv = value_of(a), value_of(b)
    a2, b2 = _as_matrix(av, "left"), _as_matrix(bv, "right")
    if a2.shape[1] != b2.shape[0]:
        raise ShapeError(
            f"matmul: shapes {shape_of(av)} @ {shape_of(bv)} do not chain ({a2.shape[1]} != {b2.shape[0]})"
        )
    out = np.matmul(av, bv)
    shape, a_shape, b_shape = np.shape(out), shape_of(av), shape_of(bv)
    (m, p), q = a2.shape, b2.shape[1]
    wrt_a = Partial(
        jvp=lambda t: as_value((_as_matrix(t, "left") @ b2).reshape(shape)),
        vjp=lambda g: as_value((np.reshape(g, (m, q)) @ b2.T).reshape(a_shape)),
        madds=m * p * q,
    )
    wrt_b = Partial(
        jvp=lambda t: as_value((a2 @ _as_matrix(t, "right")).reshape(shape)),
        vjp=lambda g: as_value((a2.T @ np.reshape(g, (m, q))).reshape(b_shape)),
        madds=m * p * q,
    )
    return _make("matmul", out, [(a, lambda: wrt_a), (b, lambda: wrt_b)])


def dot(a, b):
    """``np.dot`` for 1-D and 2-D operands: the inner product of two vectors, else :func:`matmul`."""
    return matmul(a, b)


def transpose(a):
    """``a.T``; the partial only moves entries (no multiply-adds)."""
    av = value_of(a)
    return _make("transpose", np.transpose(av), [(a, lambda: Partial(jvp=np.transpose, vjp=np.transpose, madds=0))])


def sum(a, axis=None):  # mirrors numpy's name; builtins.sum where a plain sum is meant
    """``a.sum(axis)``; its adjoint spreads the output's adjoint back (no multiply-adds)."""
    av = np.asarray(value_of(a))
    shape = av.shape

    def spread(g):
        g = np.asarray(g, dtype=float)
        return as_value(np.broadcast_to(g if axis is None else np.expand_dims(g, axis), shape).copy())

    partial = Partial(jvp=lambda t: as_value(np.sum(t, axis=axis)), vjp=spread, madds=0)
    return _make("sum", np.sum(av, axis=axis), [(a, lambda: partial)])

"""Tangent (forward) and adjoint (reverse) sweeps on a traced computational graph.

The notes' part 1. Inputs are ``x_1..x_I``; each later node is
``x_k = f_k(x_l : l in Fate(k))``. After one forward evaluation (the tracing
itself, see :mod:`chainopt.autodiff.graph`):

- the **tangent sweep**, ``k = I+1..N``, pulls along each node's arguments:
  ``dx_k = sum_{l in Fate(k)} (d f_k / d x_l) dx_l``, from a seed ``dx_i`` on
  the inputs;
- the **adjoint sweep**, ``k = N-1..I``, pulls along each node's users:
  ``xbar_k = sum_{m in Son(k)} xbar_m (d f_m / d x_k)``, from a seed
  ``xbar_N`` on the outputs.

The two are written as mirror images, with loops (never recursion), so a
graph of any depth works. One tangent sweep gives a Jacobian-vector product
``J v`` (a column of ``J`` for a unit ``v``); one adjoint sweep gives a
vector-Jacobian product ``u^T J`` (a row). A full Jacobian therefore takes
``n_in`` tangent sweeps (column by column, cheap for *tall* Jacobians) or
``n_out`` adjoint sweeps (row by row, cheap for *wide* ones, e.g. a gradient).
Every sweep counts its multiply-adds (see :mod:`chainopt.autodiff.graph` for the rule).

Examples
--------
The notes' first example, ``p(x) = log x + sqrt(log x)`` at ``x = 2``:

>>> from chainopt.autodiff.graph import log, sqrt
>>> x = variable(2.0, name="x")
>>> y = log(x); z = sqrt(y); p = y + z
>>> round(tangent_sweep([p], {x: 1.0})[p], 8)        # dp/dx by one forward sweep
0.8002806
>>> round(adjoint_sweep([p], {p: 1.0})[x], 8)        # dp/dx by one reverse sweep
0.8002806
>>> round(float(trace(lambda x: log(x) + sqrt(log(x)), 2.0).jacobian("bwd").matrix[0, 0]), 8)
0.8002806
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chainopt.autodiff.graph import Node, constant, value_of, variable
from chainopt.errors import ChainoptError, ShapeError

__all__ = [
    "MODES",
    "JacobianResult",
    "Sweep",
    "Trace",
    "adjoint_sweep",
    "tangent_sweep",
    "topological_order",
    "trace",
]

#: Ways to build a full Jacobian: ``'fwd'`` (n_in tangent sweeps), ``'bwd'`` (n_out adjoint sweeps).
MODES = ("fwd", "bwd")


def topological_order(outputs: Sequence[Node]) -> list[Node]:
    """Every node the outputs depend on, each after all its arguments.

    An iterative depth-first walk along Fate (no recursion, so any depth works).

    Examples
    --------
    >>> from chainopt.autodiff.graph import exp
    >>> x = variable(1.0, name="x")
    >>> [n.op for n in topological_order([exp(x) * x])]
    ['input', 'exp', 'mul']
    """
    order, seen = [], set()
    for root in outputs:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.fate))]
        while stack:
            node, args = stack[-1]
            for arg in args:
                if arg not in seen:
                    seen.add(arg)
                    stack.append((arg, iter(arg.fate)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


@dataclass(frozen=True, eq=False)
class Sweep:
    """The result of one tangent or adjoint sweep.

    Attributes
    ----------
    mode : str
        ``'tangent'`` (forward) or ``'adjoint'`` (reverse).
    order : tuple of Node
        The graph's nodes, arguments first (the tangent sweep ran in this
        order, the adjoint sweep in reverse).
    derivatives : dict
        Node -> its tangent ``dx_k`` or its adjoint ``xbar_k``. A node missing
        here is a structural zero (it does not depend on the seed); index the
        sweep itself to get zeros of the right shape.
    madds : int
        Multiply-adds the sweep spent applying local partials.
    """

    mode: str
    order: tuple
    derivatives: dict
    madds: int

    def __getitem__(self, node: Node):
        if node in self.derivatives:
            return self.derivatives[node]
        return 0.0 if node.ndim == 0 else np.zeros(node.shape)


def _checked_seed(seed: Mapping, where: str) -> dict:
    checked = {}
    for node, s in seed.items():
        if not isinstance(node, Node):
            raise ChainoptError(f"{where} seed keys must be graph nodes, got {type(node).__name__} {node!r}")
        s = value_of(s)
        if np.shape(s) != node.shape:
            raise ShapeError(f"{where} seed for {node!r} has shape {np.shape(s)}; the node has shape {node.shape}")
        checked[node] = s
    return checked


def _tangent(order: Sequence[Node], seed: Mapping) -> Sweep:
    """The tangent sweep over ``order``: dx_k = seed_k + sum over Fate(k) of (df_k/dx_l) dx_l."""
    tangent, madds = {}, 0
    for node in order:
        total = seed.get(node)
        for arg, partial in zip(node.fate, node.partials):
            if arg in tangent:
                term = partial.jvp(tangent[arg])
                madds += partial.madds
                total = term if total is None else total + term
        if total is not None:
            tangent[node] = total
    return Sweep("tangent", tuple(order), tangent, madds)


def _adjoint(order: Sequence[Node], seed: Mapping) -> Sweep:
    """The adjoint sweep over ``order`` reversed: xbar_k = seed_k + sum over Son(k) of xbar_m (df_m/dx_k)."""
    adjoint, madds = {}, 0
    for node in reversed(order):
        total = seed.get(node)
        for son, position in node.sons:
            if son in adjoint:
                term = son.partials[position].vjp(adjoint[son])
                madds += son.partials[position].madds
                total = term if total is None else total + term
        if total is not None:
            adjoint[node] = total
    return Sweep("adjoint", tuple(order), adjoint, madds)


def tangent_sweep(outputs: Sequence[Node], seed: Mapping) -> Sweep:
    """One forward sweep: the tangent of every node from a seed direction on the inputs.

    Parameters
    ----------
    outputs : sequence of Node
        The nodes whose dependencies make up the graph.
    seed : mapping Node -> number or array
        The direction ``dx_i`` of each seeded input; unseeded inputs are zero.

    Returns
    -------
    Sweep
        ``sweep[node]`` is ``dx_node = J_node @ seed``.

    Raises
    ------
    ShapeError
        If a seed's shape is not its node's shape.

    Examples
    --------
    >>> from chainopt.autodiff.graph import sin
    >>> x, y = variable(3.0), variable(4.0)
    >>> f = x * y + sin(x)
    >>> round(tangent_sweep([f], {x: 1.0})[f], 6)   # df/dx = y + cos(x): one sweep per input
    3.010008
    """
    return _tangent(topological_order(outputs), _checked_seed(seed, "tangent"))


def adjoint_sweep(outputs: Sequence[Node], seed: Mapping) -> Sweep:
    """One reverse sweep: the adjoint of every node from a seed adjoint on the outputs.

    Parameters
    ----------
    outputs : sequence of Node
        The nodes whose dependencies make up the graph.
    seed : mapping Node -> number or array
        The adjoint ``xbar_N`` of each seeded output; unseeded outputs are zero.

    Returns
    -------
    Sweep
        ``sweep[node]`` is ``seed^T J_node``, shaped like the node.

    Raises
    ------
    ShapeError
        If a seed's shape is not its node's shape.

    Examples
    --------
    >>> from chainopt.autodiff.graph import sin
    >>> x, y = variable(3.0), variable(4.0)
    >>> f = x * y + sin(x)
    >>> sweep = adjoint_sweep([f], {f: 1.0})                     # the whole gradient: one sweep
    >>> round(sweep[x], 6), sweep[y]
    (3.010008, 3.0)
    """
    return _adjoint(topological_order(outputs), _checked_seed(seed, "adjoint"))


@dataclass(frozen=True, eq=False)
class Trace:
    """One forward evaluation of a function on traced inputs: the graph the sweeps run on.

    Attributes
    ----------
    inputs : tuple of Node
        One input node per argument.
    outputs : tuple of Node
        The function's results (plain numbers lifted to constant nodes).
    single : bool
        Whether the function returned one result rather than a tuple.
    order : tuple of Node
        The graph in evaluation order.
    """

    inputs: tuple
    outputs: tuple
    single: bool
    order: tuple

    @property
    def n_in(self) -> int:
        """Total number of input entries (the Jacobian's columns)."""
        return builtins.sum(x.size for x in self.inputs)

    @property
    def n_out(self) -> int:
        """Total number of output entries (the Jacobian's rows)."""
        return builtins.sum(y.size for y in self.outputs)

    def value(self):
        """The function's value, shaped as it returned it."""
        values = tuple(y.value for y in self.outputs)
        return values[0] if self.single else values

    def tangent_sweep(self, seed: Mapping) -> Sweep:
        """A forward sweep on this graph (see :func:`tangent_sweep`)."""
        return _tangent(self.order, _checked_seed(seed, "tangent"))

    def adjoint_sweep(self, seed: Mapping) -> Sweep:
        """A reverse sweep on this graph (see :func:`adjoint_sweep`)."""
        return _adjoint(self.order, _checked_seed(seed, "adjoint"))

    def jacobian(self, mode: str = "bwd") -> JacobianResult:
        """The full Jacobian by ``n_in`` tangent sweeps (``'fwd'``) or ``n_out`` adjoint sweeps (``'bwd'``)."""
        # One sweep alive at a time: keep its column (row) and its count, then drop it.
        slices, per_sweep = [], []
        if mode == "fwd":
            for seed in _unit_seeds(self.inputs):
                sweep = self.tangent_sweep(seed)
                slices.append(np.concatenate([np.ravel(sweep[y]) for y in self.outputs]))
                per_sweep.append(sweep.madds)
            matrix = np.stack(slices, axis=1) if slices else np.zeros((self.n_out, 0))
        elif mode == "bwd":
            for seed in _unit_seeds(self.outputs):
                sweep = self.adjoint_sweep(seed)
                slices.append(np.concatenate([np.ravel(sweep[x]) for x in self.inputs]))
                per_sweep.append(sweep.madds)
            matrix = np.stack(slices, axis=0) if slices else np.zeros((0, self.n_in))
        else:
            raise ChainoptError(f"unknown Jacobian mode {mode!r}; choose one of: {', '.join(MODES)}")
        return JacobianResult(matrix=matrix, mode=mode, madds_per_sweep=tuple(per_sweep))


def _unit_seeds(nodes: Sequence[Node]):
    """One seed per entry of the nodes, flattened in order: a unit array on one node."""
    for node in nodes:
        for i in range(node.size):
            unit = np.zeros(node.size)
            unit[i] = 1.0
            yield {node: float(unit[0]) if node.ndim == 0 else unit.reshape(node.shape)}


def trace(f: Callable, *args, names: Sequence[str] | None = None) -> Trace:
    """Run ``f`` once on traced copies of ``args`` and record the graph.

    Examples
    --------
    >>> from chainopt.autodiff.graph import sin
    >>> t = trace(lambda x, y: x * y + sin(x), 1.0, 2.0, names=["x", "y"])
    >>> [n.name or n.op for n in t.order], t.n_in, t.n_out
    (['x', 'y', 'mul', 'sin', 'add'], 2, 1)
    """
    names = list(names) if names is not None else [None] * len(args)
    if len(names) != len(args):
        raise ChainoptError(f"{len(names)} names for {len(args)} arguments")
    inputs = tuple(variable(a, name=n) for a, n in zip(args, names))
    result = f(*inputs)
    single = not isinstance(result, (tuple, list))
    outputs = tuple(r if isinstance(r, Node) else constant(r) for r in ([result] if single else result))
    return Trace(inputs, outputs, single, tuple(topological_order(outputs)))


@dataclass(frozen=True, eq=False)
class JacobianResult:
    """A full Jacobian built by sweeps, with what it cost.

    Attributes
    ----------
    matrix : numpy.ndarray
        ``(n_out, n_in)``, inputs and outputs flattened and concatenated in order.
    mode : str
        ``'fwd'`` (one tangent sweep per column) or ``'bwd'`` (one adjoint sweep per row).
    madds_per_sweep : tuple of int
        Counted multiply-adds of each sweep.
    """

    matrix: np.ndarray
    mode: str
    madds_per_sweep: tuple

    @property
    def sweeps(self) -> int:
        """How many sweeps were run (``n_in`` for fwd, ``n_out`` for bwd)."""
        return len(self.madds_per_sweep)

    @property
    def madds(self) -> int:
        """Total counted multiply-adds of all sweeps."""
        return builtins.sum(self.madds_per_sweep)  # exact ints (the graph's ``sum`` is shadowed here)

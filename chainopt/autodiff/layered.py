"""Layered functions ``chain:n_1,...,n_N`` for the sweeps, and what sweeping them will need."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from chainopt.autodiff import graph
from chainopt.autodiff.expr import FUNCTIONS
from chainopt.core.chain import Chain, adjoint_sweep_cost, tangent_sweep_cost
from chainopt.core.memory import MemoryEstimate
from chainopt.errors import ChainoptError, ExpressionError, NonFiniteError
from chainopt.execution import seeded_rng
from chainopt.execution.budget import check_memory
from chainopt.layers.builders import dense_layers

__all__ = ["MAX_SWEEP_MADDS", "chain_sweep_needs", "check_chain_fits", "layered_function", "parse_chain_example"]

#: Most multiply-adds the sweeps of one ``chain:n_1,...,n_N`` report may count
#: (``n_1`` tangent plus ``n_N`` adjoint sweeps, activations included): a
#: few seconds of Python-driven sweeps. Larger chains are refused before anything is built.
MAX_SWEEP_MADDS = 2_000_000_000

#: Bytes of Python objects per sweep besides its vectors (dict, seed, array headers), measured with tracemalloc.
_SWEEP_OVERHEAD = 2048
#: Bytes of Python objects per kept column or row (each its own small array), measured with tracemalloc.
_SLICE_OVERHEAD = 240
#: Bytes of Python objects of the trace and the report, whatever the size, measured with tracemalloc.
_FIXED_OVERHEAD = 32 * 1024



def parse_chain_example(source: str) -> tuple[int, ...] | None:
    """The dims of a ``chain:n_1,...,n_N`` example, or ``None`` for other sources."""
    if not source.startswith("chain:"):
        return None
    words = [w.strip() for w in source[len("chain:"):].split(",")]
    shown = repr(source) if len(source) <= 60 else repr(source[:50] + "...")
    if "" in words[1:-1] or (len(words) > 1 and words[0] == ""):
        raise ExpressionError(f"empty dim in {shown}: two commas in a row or a leading comma; e.g. chain:4,8,3,1")
    words = " ".join(words).split()
    if not all(w.isascii() and w.isdigit() and len(w) <= 18 for w in words):
        raise ExpressionError(
            f"{shown}: give the dims as whole numbers (at most 18 digits), input first, e.g. chain:4,8,3,1"
        )
    return Chain([int(w) for w in words]).dims


def layered_function(dims, *, activation: str | None = "tanh", seed=0):
    """The layered function of ``chain:dims``: ``x -> W_{N-1} p(... p(W_1 x + b_1) ...) + b_{N-1}``, traced.

    The dense layers are :func:`chainopt.layers.dense_layers` ``(dims, seed)``,
    the very layers of ``chainopt.layers.mlp(dims, activation, seed)``, and
    ``p`` is the same entry of the one elementwise table, between the layers
    and not after the last (``None`` for a linear chain). So this is the same
    function as that mlp, written on graph nodes: ``W_k x + b_k`` is one matmul
    and one add of a constant (which costs no multiply-adds), ``p`` one
    diagonal node, and the chain is ``dims`` (the mlp's ``Network.dims``
    repeats the hidden widths, one factor per activation). Returns
    ``(f, x0, layers)``: ``f`` on graph nodes, a seeded input point ``x0``
    (drawn after the weights from the same generator) and the ``Dense`` layers.

    Examples
    --------
    >>> f, x0, layers = layered_function([3, 2, 1], activation=None)
    >>> bool(np.allclose(f(x0), layers[1](layers[0](x0))))
    True
    """
    dims = Chain(dims).dims
    if activation is not None and activation not in FUNCTIONS:
        raise ExpressionError(f"unknown activation {activation!r}; choose one of: none, {', '.join(FUNCTIONS)}")
    rng = seeded_rng(seed)
    layers = dense_layers(dims, rng)
    p = FUNCTIONS[activation] if activation else None
    x0 = rng.standard_normal(dims[0])

    def f(x):
        for k, layer in enumerate(layers, start=1):
            x = graph.add(graph.matmul(layer.W, x), layer.b)
            if p and k < len(layers):
                before = graph.value_of(x)
                with np.errstate(all="ignore"):  # refused below, naming the point, not warned about
                    x = p(x)
                _check_activation(activation, before, graph.value_of(x), k, dims, x0)
        return x

    return f, x0, layers


def _check_activation(name: str, before, after, k: int, dims, x0) -> None:
    """Refuse an activation whose value is not finite at the chain's seeded point, naming the point."""
    bad = ~np.isfinite(np.asarray(after))
    if not bad.any():
        return
    i = int(np.argmax(bad))
    shown = ", ".join(f"{v:.3g}" for v in x0[:4]) + (", ..." if len(x0) > 4 else "")
    raise NonFiniteError(
        f"{name}({float(np.asarray(before)[i]):.4g}) is {float(np.asarray(after)[i])} at entry {i + 1} of layer {k}'s "
        f"output: chain:{','.join(map(str, dims))} with --activation {name} is not finite at its seeded point "
        f"x = [{shown}]; choose an activation defined on every real number (tanh, sigmoid, sin, softplus, ...) "
        "or none"
    )


def chain_sweep_needs(dims, *, activation: str | None = "tanh") -> tuple[MemoryEstimate, int]:
    """Bytes and multiply-adds :func:`jacobian_report` needs for ``chain:dims``, from the dims alone.

    The bytes: ``inputs`` are the weights and biases; ``intermediates`` the
    worst moment of the run, which is one of: a tangent sweep (one working
    vector per node: ``S = n_1 + 2 (n_2 + ... + n_N)`` entries for the inputs,
    matmuls and bias adds, plus ``n_2 + ... + n_(N-1)`` for the activations,
    and about 2 KiB of Python objects) beside the ``n_1``
    columns kept so far and the stacked Jacobian; then an adjoint sweep beside
    the first Jacobian, the ``n_N`` rows and the second; then the two
    Jacobians compared (four ``n_N x n_1`` arrays). The traced graph's values
    add ``2 S``; Python objects add about 240 bytes per column or row and
    32 KiB for the trace. Only one sweep is alive at a time. The
    multiply-adds are exactly what the sweeps will count: the matrix-free
    models plus ``n_1`` (``n_N``) per activation entry.

    Examples
    --------
    >>> est, madds = chain_sweep_needs([4, 8, 3, 1], activation=None)
    >>> est.inputs, est.intermediates, madds
    (568, 36784, 295)
    """
    dims = Chain(dims).dims
    n_in, n_out = dims[0], dims[-1]
    act = sum(dims[1:-1]) if activation else 0
    nodes = sum(dims) + sum(dims[1:]) + act
    jac = n_in * n_out
    largest_weight = max(m * n for n, m in pairwise(dims))
    itemsize = np.dtype(np.float64).itemsize
    per_sweep = nodes + _SWEEP_OVERHEAD // itemsize
    peak = 2 * nodes + max(
        largest_weight,                                # a weight's temporary while it is drawn
        per_sweep + jac + jac,                         # one tangent sweep, the columns so far, the stacked matrix
        jac + per_sweep + jac + jac,                   # the forward Jacobian, one adjoint sweep, the rows, stacked
        4 * jac,                                       # both Jacobians, their difference and its absolute value
    )
    objects = (n_in + n_out) * _SLICE_OVERHEAD + _FIXED_OVERHEAD
    parameters = sum(m * n + m for n, m in pairwise(dims))
    estimate = MemoryEstimate(inputs=parameters * itemsize,
                              intermediates=peak * itemsize + objects, itemsize=itemsize)
    madds = tangent_sweep_cost(dims) + adjoint_sweep_cost(dims) + (n_in + n_out) * act
    return estimate, madds


def check_chain_fits(source: str, dims, activation, budget) -> None:
    """Refuse a chain whose sweeps would need more than ``budget`` bytes or more than MAX_SWEEP_MADDS multiply-adds."""
    estimate, madds = chain_sweep_needs(dims, activation=activation)
    what = f"{source} (weights and biases + {dims[0]:,} tangent and {dims[-1]:,} adjoint sweeps)"
    check_memory(estimate, budget, what=what)
    if madds > MAX_SWEEP_MADDS:
        raise ChainoptError(
            f"{source} would take {madds:,} multiply-adds in its {dims[0]:,} tangent and {dims[-1]:,} adjoint sweeps, "
            f"but sweep allows at most {MAX_SWEEP_MADDS:,} (chainopt.autodiff.layered.MAX_SWEEP_MADDS); "
            "try smaller dims, or 'chainopt cost' for the cost model alone"
        )

"""Function transforms on the sweeps: ``jvp``, ``vjp``, ``grad`` and ``jacobian``, as in JAX.

Each takes a plain Python function of numbers and arrays, traces it once
(:func:`chainopt.autodiff.sweeps.trace`) and runs tangent sweeps (forward
mode, column by column) or adjoint sweeps (reverse mode, row by row) on the
graph. ``jvp`` and ``vjp`` return the primal output too.

Examples
--------
>>> from chainopt.autodiff.graph import log, sqrt
>>> round(grad(lambda x: log(x) + sqrt(log(x)))(2.0), 8)
0.8002806
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chainopt.autodiff.sweeps import MODES, JacobianResult, trace
from chainopt.errors import ChainoptError, ShapeError

__all__ = ["grad", "jacobian", "jvp", "vjp"]


def _checked_like(values, nodes, what: str):
    values = tuple(values)
    if len(values) != len(nodes):
        raise ShapeError(f"{len(values)} {what}s for {len(nodes)} {'arguments' if what == 'tangent' else 'outputs'}")
    return {n: v for n, v in zip(nodes, values)}


def jvp(f: Callable, primals: Sequence, tangents: Sequence):
    """``(f(*primals), J v)``: a Jacobian-vector product by one tangent sweep.

    Examples
    --------
    >>> value, tangent = jvp(lambda x, y: x * y, (3.0, 4.0), (1.0, 0.0))
    >>> value, tangent
    (12.0, 4.0)
    """
    tr = trace(f, *primals)
    sweep = tr.tangent_sweep(_checked_like(tangents, tr.inputs, "tangent"))
    out = tuple(sweep[y] for y in tr.outputs)
    return tr.value(), out[0] if tr.single else out


def vjp(f: Callable, primals: Sequence, cotangent):
    """``(f(*primals), u^T J)``: a vector-Jacobian product by one adjoint sweep.

    ``cotangent`` is shaped like ``f``'s result (a tuple if ``f`` returns one);
    the result is a tuple with one adjoint per argument.

    Examples
    --------
    >>> value, (dx, dy) = vjp(lambda x, y: x * y, (3.0, 4.0), 1.0)
    >>> value, dx, dy
    (12.0, 4.0, 3.0)
    """
    tr = trace(f, *primals)
    cotangents = (cotangent,) if tr.single else cotangent
    sweep = tr.adjoint_sweep(_checked_like(cotangents, tr.outputs, "cotangent"))
    return tr.value(), tuple(sweep[x] for x in tr.inputs)


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The gradient of a scalar-valued ``f``, by one adjoint sweep (reverse mode).

    Parameters
    ----------
    f : callable
        Takes numbers/arrays, returns one scalar.
    argnums : int or sequence of int
        Which arguments to differentiate with respect to.

    Returns
    -------
    callable
        Same arguments as ``f``; returns the gradient (a tuple for several argnums).

    Examples
    --------
    >>> import numpy as np
    >>> from chainopt.autodiff.graph import sum, tanh
    >>> df = grad(lambda A, x: sum(tanh(A @ x)), argnums=(0, 1))
    >>> gA, gx = df(np.eye(2), np.zeros(2))
    >>> gA.shape, gx
    ((2, 2), array([1., 1.]))
    """

    def gradient(*args):
        tr = trace(f, *args)
        if not tr.single or tr.outputs[0].ndim != 0:
            shape = tr.outputs[0].shape if tr.single else f"a tuple of {len(tr.outputs)}"
            raise ShapeError(f"grad needs a scalar output, got {shape}; use jacobian or vjp")
        sweep = tr.adjoint_sweep({tr.outputs[0]: 1.0})
        if isinstance(argnums, int):
            return sweep[tr.inputs[argnums]]
        return tuple(sweep[tr.inputs[i]] for i in argnums)

    return gradient


def jacobian(f: Callable, *args, mode: str | None = None) -> JacobianResult:
    """The full Jacobian of ``f`` at ``args`` by sweeps, with counted multiply-adds.

    ``mode='fwd'`` builds it column by column with ``n_in`` tangent sweeps (the
    cheap way for *tall* Jacobians, n_out > n_in); ``mode='bwd'`` builds it row
    by row with ``n_out`` adjoint sweeps (cheap for *wide* ones). Both run on one
    trace (one forward evaluation). ``mode=None`` (the default) chooses from
    the shapes: a tangent and an adjoint sweep cost the same multiply-adds
    (every node's local partials, once each), so the fewer sweeps win,
    ``'fwd'`` if ``n_in < n_out``, else ``'bwd'``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.arange(6.0).reshape(3, 2)
    >>> fwd = jacobian(lambda x: A @ x, np.ones(2), mode="fwd")
    >>> bwd = jacobian(lambda x: A @ x, np.ones(2), mode="bwd")
    >>> bool(np.array_equal(fwd.matrix, A)), fwd.sweeps, fwd.madds, bwd.sweeps, bwd.madds
    (True, 2, 12, 3, 18)
    >>> jacobian(lambda x: A @ x, np.ones(2)).mode  # tall: 2 columns, not 3 rows
    'fwd'
    """
    if mode is not None and mode not in MODES:
        raise ChainoptError(f"unknown Jacobian mode {mode!r}; choose one of: {', '.join(MODES)} (or None to choose)")
    tr = trace(f, *args)
    if mode is None:
        mode = "fwd" if tr.n_in < tr.n_out else "bwd"
    return tr.jacobian(mode)

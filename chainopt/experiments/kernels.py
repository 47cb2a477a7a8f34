"""The plan's costliest product, timed in each library: does a gap come from the plan or the BLAS kernel.

When chainopt's plan does the same multiply-adds as a peer's jacfwd or
jacrev and still runs slower, the difference is in the kernels, not in the
order. :func:`costliest_product` finds the dense product that dominates a
generalized plan (a MUL of two formed pieces, or a block of directions
through a dense layer's tangent or adjoint: scalings by a diagonal are not
products); :func:`kernel_rows` times that one product in numpy and in each
installed peer (``jax.numpy`` under ``jit``, ``torch``), interleaved, on
whatever cores the caller pinned, so a report can show where the time goes.
"""

from __future__ import annotations

import importlib
import statistics
import warnings
from contextlib import contextmanager

import numpy as np

from chainopt.bench.harness import autorange, time_interleaved
from chainopt.core.plan import Plan

__all__ = ["costliest_product", "kernel_rows", "peer_import", "peer_warnings_silenced", "product_calls"]


def costliest_product(plan: Plan) -> tuple[int, int, int] | None:
    """``(m, k, n)`` of the plan's costliest dense product ``(m x k) @ (k x n)``; ``None`` if it has none.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> costliest_product(mlp([784, 512, 256, 10], seed=0).plan())
    (10, 512, 784)
    """
    d = plan.chain.dims
    diagonal = plan._is_diagonal
    best, shape = -1, None
    for (op, lo, mid, hi), step in zip(plan.operations, plan.steps):
        if op == "MUL" and not (diagonal(lo, mid) or diagonal(mid + 1, hi)):
            candidate = (d[hi + 1], d[mid + 1], d[lo])
        elif op == "TAN" and not (diagonal(hi, hi) or diagonal(lo, hi - 1)):
            candidate = (d[hi + 1], d[hi], d[lo])
        elif op == "ADJ" and not (diagonal(lo, lo) or diagonal(lo + 1, hi)):
            candidate = (d[hi + 1], d[lo + 1], d[lo])
        else:
            continue
        if step.cost > best:
            best, shape = step.cost, candidate
    return shape


@contextmanager
def peer_warnings_silenced():
    """Peers' own DeprecationWarnings silenced (only those, only inside).

    ``import torch`` and ``torch.func``'s first call warn that
    ``torch.jit.script`` (which torch uses itself) is deprecated; that is
    torch's business, not a benchmark's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def peer_import(name: str):
    """``import name``, or ``None`` if it is not installed (the peer's DeprecationWarnings silenced)."""
    with peer_warnings_silenced():
        try:
            return importlib.import_module(name)
        except ImportError:
            return None


def product_calls(a: np.ndarray, b: np.ndarray, peers=("jax", "torch")) -> dict:
    """``{library: call}``: the product ``a @ b`` in numpy and in each installed peer (``jit`` in JAX, float64)."""
    calls = {"numpy": lambda: a @ b}
    for peer in peers:
        module = peer_import(peer)
        if module is None:
            continue
        if peer == "jax":
            module.config.update("jax_enable_x64", True)
            ja, jb = module.numpy.asarray(a), module.numpy.asarray(b)
            product = module.jit(module.numpy.matmul)
            calls["jax"] = lambda p=product, x=ja, y=jb: p(x, y).block_until_ready()
        elif peer == "torch":
            ta, tb = module.from_numpy(a), module.from_numpy(b)
            calls["torch"] = lambda x=ta, y=tb: x @ y
    return calls


def kernel_rows(plans: dict[str, Plan], *, peers=("jax", "torch"), repeats: int = 11, min_time: float = 0.02,
                seed: int = 0) -> list[dict]:
    """One row per shape: the plan's costliest product and its median time in numpy and each installed peer.

    A product with one row or one column is timed with that operand as a
    1-D vector (a matrix-vector product, as every library's own program
    runs it). Each row has ``shape``, ``product`` (``'m x k @ k x n'``), ``madds``,
    ``<library>_us`` (median microseconds), ``<library>_iqr_us`` (its
    interquartile range) and ``numpy_over_best_peer``
    (numpy's median over the fastest peer's; ``None`` without peers).
    """
    rows = []
    for shape, plan in plans.items():
        dims = costliest_product(plan)
        if dims is None:
            continue
        m, k, n = dims
        rng = np.random.default_rng(seed)
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        # a row or column operand as a 1-D vector, as the peers' programs hold it (jitted, JAX runs a 2-D
        # (1, k) @ (k, n) through its matrix-matrix path, which made its gemv look 3x slower than numpy's)
        calls = product_calls(a[0] if m == 1 else a, b[:, 0] if n == 1 else b, peers)
        times = time_interleaved(calls, repeats=repeats, warmup=1, number=autorange(calls, min_time))
        medians = {name: statistics.median(ts) for name, ts in times.items()}
        others = [t for name, t in medians.items() if name != "numpy"]
        quartiles = {name: statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3 for name, ts in times.items()}
        rows.append({"shape": shape, "product": f"{m} x {k} @ {k} x {n}", "madds": m * k * n,
                     **{f"{name}_us": 1e6 * t for name, t in medians.items()},
                     **{f"{name}_iqr_us": (1e6 * q[0], 1e6 * q[2]) for name, q in quartiles.items()},
                     "numpy_over_best_peer": medians["numpy"] / min(others) if others else None})
    return rows

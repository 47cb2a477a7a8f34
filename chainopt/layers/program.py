"""A plan compiled for a network: straight-line numpy code, forward pass included, every decision taken once.

:func:`~chainopt.execution.run_plan` runs any plan on any provider after a
whole forward pass and checks every answer's shape; a network's plan is
fixed (its sizes and layer kinds never change) and its layers' answers are
right by construction. :func:`compile_plan` therefore writes, once per plan,
the function a person would write by hand for it: one numpy expression per
operation (``t3 = t2 @ W4``, ``t4 = d5[:, None] * t3``), each intermediate
deleted once consumed, as run_plan does, **and the forward pass interleaved
with the plan**. The code is generated from the plan's integers and the
layer kinds only, never from data. The tests check that it agrees with
run_plan on :meth:`Network.linearize <chainopt.layers.Network.linearize>`.

The forward pass runs just in time. Before an operation touches layer
``k`` (its tangent, adjoint or Jacobian, or its weight ``W`` as a factor of a
product), the pass is advanced through layer ``k``, so a layer's weight is
read by the forward pass and by the plan back to back, while it is still in
cache (a forward-mode plan alternates them layer by layer, as
``jax.jacfwd``'s compiled code does). The pass stops at the last layer whose
Jacobian depends on the point: the dense layers after it are never
evaluated, because the Jacobian does not need their values.

Two places do less work than the cost model counts, never more: a diagonal
range pushed through a dense layer is a column (row) scaling of ``W``, not a
product with ``np.diag(d)``; and a factor preaccumulated is formed directly
(``d`` for an elementwise layer, ``I + A^T diag(d) A`` in one product for a
residual block) rather than pushed through unit directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainopt.core.plan import Plan
from chainopt.execution.generalized import operands_of

__all__ = ["KINDS", "compile_plan", "run_program"]

#: A layer's kind as the generated code treats it: ``W`` read directly, ``d`` read directly, or the map's methods.
KINDS = ("dense", "diagonal", "map")


def _expression(op: str, lo: int, mid: int, hi: int, operands: list[str], diag: Callable, kinds) -> str:
    """The numpy expression of one operation on the held operands (1-D when diagonal)."""
    if op == "MUL":
        right, left = operands
        rd, ld = diag(lo, mid), diag(mid + 1, hi)
        if ld and not rd:
            return f"{left}[:, None] * {right}"
        return f"{left} * {right}" if (ld or rd) else f"{left} @ {right}"
    if op == "TAN":  # F'_hi @ inner
        (inner,) = operands
        kind = kinds[hi]
        if diag(lo, hi):
            return f"d{hi} * {inner}"
        if diag(lo, hi - 1):
            return f"W{hi} * {inner}" if kind == "dense" else f"m{hi}.tangent(np.diag({inner}))"
        return {"dense": f"W{hi} @ {inner}", "diagonal": f"d{hi}[:, None] * {inner}"}.get(
            kind, f"m{hi}.tangent({inner})")
    if op == "ADJ":  # outer @ F'_lo
        (outer,) = operands
        kind = kinds[lo]
        if diag(lo, hi):
            return f"{outer} * d{lo}"
        if diag(lo + 1, hi):
            return f"{outer}[:, None] * W{lo}" if kind == "dense" else f"m{lo}.adjoint(np.diag({outer}))"
        return {"dense": f"{outer} @ W{lo}", "diagonal": f"{outer} * d{lo}"}.get(kind, f"m{lo}.adjoint({outer})")
    return f"d{lo}" if kinds[lo] == "diagonal" else f"m{lo}.jacobian()"  # ACC: d (1-D), or the formed Jacobian


def _touched(op: str, lo: int, mid: int, hi: int, leaves: list[int]) -> int:
    """The highest layer an operation reads: its factor for TAN, ADJ and ACC, its leaf weights for a MUL."""
    if op == "TAN":
        return hi
    if op in ("ADJ", "ACC"):
        return lo
    return max(leaves, default=-1)


def _forward(k: int, kind: str, last: int) -> list[str]:
    """The forward pass through layer ``k``: its value (unless no later layer needs it) and what its Jacobian keeps."""
    if kind == "dense":
        return [f"    x = W{k} @ x + b{k}"]
    if kind == "diagonal":
        value = [f"    x = y{k}"] if k < last else []
        return [f"    y{k} = f{k}(x)", f"    d{k} = df{k}(x, y{k})", *value]
    return [f"    x, m{k} = L[{k}].linearize(x)"]


def _bindings(kinds: Sequence[str], last: int) -> list[str]:
    """The header: every dense weight, and what the forward pass reads of the layers it runs, bound to names.

    Bound once at the start, while the layers are in cache: after a product
    that streams the weights, each attribute lookup in the body would run cold.
    """
    lines = [f"    W{k} = L[{k}].W" for k, kind in enumerate(kinds) if kind == "dense"]
    for k, kind in enumerate(kinds[: last + 1]):
        if kind == "dense":
            lines.append(f"    b{k} = L[{k}].b")
        elif kind == "diagonal":
            lines.append(f"    f{k}, df{k} = L[{k}].activation.f, L[{k}].activation.derivative")
    return lines


def compile_plan(plan: Plan, kinds: Sequence[str]) -> Callable:
    """The plan as a generated function ``program(L, x)`` of the network's layers ``L`` and the point ``x``.

    ``kinds[k]`` (one of :data:`KINDS`) says how to reach layer ``k``'s
    Jacobian: its weight ``W``, its derivative ``d`` (from
    ``activation.f`` and ``activation.derivative``), or the linear map its
    ``linearize`` returns (``tangent``/``adjoint``/``jacobian``). The
    function runs the forward pass just in time (see the module docstring)
    and returns the chain's Jacobian as held (1-D if diagonal; a leaf ``W``
    itself if the plan has no operation); its source is ``program.source``.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> net = mlp([4, 3, 2], seed=0)
    >>> print(compile_plan(net.plan("bwd"), ["dense", "diagonal", "dense"]).source)
    def program(L, x):
        W0 = L[0].W
        W2 = L[2].W
        b0 = L[0].b
        f1, df1 = L[1].activation.f, L[1].activation.derivative
        x = W0 @ x + b0
        y1 = f1(x)
        d1 = df1(x, y1)
        t0 = W2 * d1
        t1 = t0 @ W0
        del t0
        return t1
    """
    diag = plan._is_diagonal
    last = max((k for k, kind in enumerate(kinds) if kind != "dense"), default=-1)  # the pass stops after it
    names: dict[tuple[int, int], str] = {}
    body: list[str] = []
    done = -1
    for i, (op, lo, mid, hi) in enumerate(plan.operations):
        ranges = operands_of(op, lo, mid, hi)
        leaves = [r[0] for r in ranges if r not in names]
        operands = [names.pop(r, None) or f"W{r[0]}" for r in ranges]
        for k in range(done + 1, min(_touched(op, lo, mid, hi, leaves), last) + 1):
            body += _forward(k, kinds[k], last)
            done = k
        body.append(f"    t{i} = {_expression(op, lo, mid, hi, operands, diag, kinds)}")
        consumed = [name for name in operands if name.startswith("t")]
        if consumed:
            body.append(f"    del {', '.join(consumed)}")
        names[(lo, hi)] = f"t{i}"
    lines = ["def program(L, x):", *_bindings(kinds, last), *body,
             f"    return {names.popitem()[1] if names else 'W0'}"]
    source = "\n".join(lines)
    namespace: dict = {"np": np}
    exec(compile(source, f"<network program for {plan}>", "exec"), namespace)  # generated from ints only
    program = namespace["program"]
    program.source = source
    return program


def run_program(program: Callable, layers: Sequence, x: np.ndarray) -> np.ndarray:
    """The chain's ``(n_N, n_1)`` Jacobian at ``x``: the compiled ``program`` run on the network's ``layers``.

    Always 2-D and a new, writeable array.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> net = mlp([3, 4, 2], seed=0)
    >>> x = np.ones(3)
    >>> J = run_program(compile_plan(net.plan("bwd"), ["dense", "diagonal", "dense"]), net.layers, x)
    >>> A1, A2, A3 = net.jacobians(x)
    >>> bool(np.allclose(J, A3 @ A2 @ A1))
    True
    """
    result = program(layers, x)
    if result.ndim == 1:
        return np.diag(result)
    return result if result.flags.writeable else result.copy()

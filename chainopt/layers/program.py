"""A plan compiled for a network: straight-line numpy code, every decision taken once.

:func:`~chainopt.execution.run_plan` runs any plan on any provider and
checks every answer's shape; a network's plan is fixed (its sizes and layer
kinds never change) and its provider is
:class:`~chainopt.layers.linear.NetworkFactors`, whose answers are right by
construction. :func:`compile_plan` therefore writes, once per plan, the
function a person would write by hand for it: one numpy expression per
operation (``t3 = t2 @ m[4].W``, ``t4 = m[5].d[:, None] * t3``), each
intermediate deleted once consumed, as run_plan does. The code is generated
from the plan's integers and the layer kinds only, never from data. The tests
check that it agrees with run_plan.

Two places do less work than the cost model counts, never more: a diagonal
range pushed through a dense layer is a column (row) scaling of ``W``, not a
product with ``np.diag(d)``; and a factor preaccumulated is formed directly
(``maps[k].jacobian()``: ``d`` for an elementwise layer, ``I + A^T diag(d) A``
in one product for a residual block) rather than pushed through unit
directions.
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
        kind, m = kinds[hi], f"m[{hi}]"
        if diag(lo, hi):
            return f"{m}.d * {inner}"
        if diag(lo, hi - 1):
            return f"{m}.W * {inner}" if kind == "dense" else f"{m}.tangent(np.diag({inner}))"
        return {"dense": f"{m}.W @ {inner}", "diagonal": f"{m}.d[:, None] * {inner}"}.get(
            kind, f"{m}.tangent({inner})")
    if op == "ADJ":  # outer @ F'_lo
        (outer,) = operands
        kind, m = kinds[lo], f"m[{lo}]"
        if diag(lo, hi):
            return f"{outer} * {m}.d"
        if diag(lo + 1, hi):
            return f"{outer}[:, None] * {m}.W" if kind == "dense" else f"{m}.adjoint(np.diag({outer}))"
        return {"dense": f"{outer} @ {m}.W", "diagonal": f"{outer} * {m}.d"}.get(kind, f"{m}.adjoint({outer})")
    return f"m[{lo}].jacobian()"  # ACC: d (1-D) for a diagonal layer, the formed Jacobian otherwise


def compile_plan(plan: Plan, kinds: Sequence[str]) -> Callable:
    """The plan as a generated function ``program(m)`` of the layers' linear maps ``m``.

    ``kinds[k]`` (one of :data:`KINDS`) says how to reach layer ``k``'s
    Jacobian: ``m[k].W``, ``m[k].d``, or ``m[k].tangent``/``m[k].adjoint``.
    The function returns the chain's Jacobian as held (1-D if diagonal; a
    leaf ``W`` itself if the plan has no operation); its source is
    ``program.source``.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> net = mlp([4, 3, 2], seed=0)
    >>> print(compile_plan(net.plan("bwd"), ["dense", "diagonal", "dense"]).source)
    def program(m):
        t0 = m[2].W * m[1].d
        t1 = t0 @ m[0].W
        del t0
        return t1
    """
    diag = plan._is_diagonal
    names: dict[tuple[int, int], str] = {}
    lines = ["def program(m):"]
    for i, (op, lo, mid, hi) in enumerate(plan.operations):
        operands = [names.pop(r, None) or f"m[{r[0]}].W" for r in operands_of(op, lo, mid, hi)]
        lines.append(f"    t{i} = {_expression(op, lo, mid, hi, operands, diag, kinds)}")
        done = [name for name in operands if name.startswith("t")]
        if done:
            lines.append(f"    del {', '.join(done)}")
        names[(lo, hi)] = f"t{i}"
    lines.append(f"    return {names.popitem()[1] if names else 'm[0].W'}")
    source = "\n".join(lines)
    namespace: dict = {"np": np}
    exec(compile(source, f"<network program for {plan}>", "exec"), namespace)  # generated from ints only
    program = namespace["program"]
    program.source = source
    return program


def run_program(program: Callable, maps: Sequence) -> np.ndarray:
    """The chain's ``(n_N, n_1)`` Jacobian: the compiled ``program`` run on the layers' ``maps``.

    Always 2-D and a new, writeable array.

    Examples
    --------
    >>> from chainopt.layers import mlp
    >>> net = mlp([3, 4, 2], seed=0)
    >>> x = np.ones(3)
    >>> J = run_program(compile_plan(net.plan("bwd"), ["dense", "diagonal", "dense"]), net.linearize(x).maps)
    >>> A1, A2, A3 = net.jacobians(x)
    >>> bool(np.allclose(J, A3 @ A2 @ A1))
    True
    """
    result = program(maps)
    if result.ndim == 1:
        return np.diag(result)
    return result if result.flags.writeable else result.copy()

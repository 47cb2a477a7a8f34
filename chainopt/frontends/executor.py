"""The executor of the front ends: a plan run through a framework provider, any array type.

:func:`run_plan` mirrors :func:`chainopt.execution.generalized.run_plan`
with the operators ``@``, ``*`` and indexing that numpy, JAX and PyTorch
arrays share; :func:`fused_sweeps` finds the runs of tangents (adjoints)
through consecutive stages that a provider with a cost per call may push
through in one call.
"""

from __future__ import annotations

from chainopt.core.plan import Plan
from chainopt.execution.generalized import operands_of

__all__ = ["run_plan", "fused_sweeps"]


def _diag_range(plan: Plan, lo: int, hi: int) -> bool:
    return all(f.diagonal for f in plan.factors[lo:hi + 1])


def run_plan(plan: Plan, provider):
    """The ``(n_N, n_1)`` Jacobian of a plan's stack through a framework provider.

    The mirror of :func:`chainopt.execution.generalized.run_plan` for any
    array type with ``@``, ``*`` and ``[:, None]``. The provider gives
    ``tangent(k, block)`` (``(n_in, c) -> (n_out, c)``),
    ``adjoint(k, block)`` (``(r, n_out) -> (r, n_in)``), ``eye(n)``,
    ``ones(rows, cols)`` and ``diag(d)``, and ``jacobian(k)`` for a given
    factor (1-D if diagonal); a diagonal range is held as its 1-D diagonal
    and pushed on as one all-ones direction.

    Examples
    --------
    >>> import numpy as np
    >>> from chainopt import Factor, plan as make_plan
    >>> from chainopt.execution.generalized import MatrixFactors
    >>> class P(MatrixFactors):
    ...     eye, ones, diag = staticmethod(np.eye), staticmethod(np.ones), staticmethod(np.diag)
    >>> fs = [Factor(n_in=2, n_out=2, tangent=2, adjoint=2, diagonal=True), Factor(n_in=2, n_out=1, tangent=2,
    ...       adjoint=2)]
    >>> run_plan(make_plan(fs, "bwd"), P([np.array([2.0, 3.0]), np.array([[1.0, 1.0]])]))
    array([[2., 3.]])
    """
    live = {}
    fused = fused_sweeps(plan) if getattr(provider, "fuses", False) else {}
    skip = -1
    for index, (op, lo, mid, hi) in enumerate(plan.operations):
        if index <= skip:
            continue
        operands = [live.pop(r) if r in live else provider.jacobian(r[0]) for r in operands_of(op, lo, mid, hi)]
        diagonal = _diag_range(plan, lo, hi)
        if index in fused:  # a sweep of TANs (ADJs) through consecutive stages: one call through them all
            skip, through, mode = fused[index]
            if op == "ACC":  # unit directions into the first stage
                factor = plan.factors[lo]
                block = provider.eye(factor.n_in if mode == "TAN" else factor.n_out)
            else:
                (operand,) = operands
                block = provider.diag(operand) if operand.ndim == 1 else operand
            if mode == "TAN":
                live[(lo, through)] = provider.tangent(hi, block, through)
            else:
                live[(through, hi)] = provider.adjoint(lo, block, through)
            continue
        if op == "MUL":
            right, left = operands
            if left.ndim == 1 and right.ndim == 1:
                result = left * right
            elif left.ndim == 1:
                result = left[:, None] * right
            elif right.ndim == 1:
                result = left * right[None, :]
            else:
                result = left @ right
        elif op == "TAN":
            (inner,) = operands
            block = inner[:, None] if diagonal else (provider.diag(inner) if inner.ndim == 1 else inner)
            result = provider.tangent(hi, block)
        elif op == "ADJ":
            (outer,) = operands
            block = outer[None, :] if diagonal else (provider.diag(outer) if outer.ndim == 1 else outer)
            result = provider.adjoint(lo, block)
        else:
            factor = plan.factors[lo]
            if plan.steps[index].mode == "TAN":
                seeds = provider.ones(factor.n_in, 1) if diagonal else provider.eye(factor.n_in)
                result = provider.tangent(lo, seeds)
            else:
                seeds = provider.ones(1, factor.n_out) if diagonal else provider.eye(factor.n_out)
                result = provider.adjoint(lo, seeds)
        if diagonal and result.ndim == 2:
            result = result.reshape(-1)
        live[(lo, hi)] = result
    result = live.pop((0, len(plan.factors) - 1)) if live else provider.jacobian(0)  # else: one given factor
    return provider.diag(result) if result.ndim == 1 else result


def fused_sweeps(plan: Plan) -> dict[int, tuple[int, int, str]]:
    """Runs of TANs (ADJs), each extending the one before, on dense ranges: ``{first: (last, stage, mode)}``.

    ``first`` and ``last`` index ``plan.operations``; ``stage`` is the last
    stage the run pushes through (for ADJs, the first stage it pulls back
    to); ``mode`` is ``'TAN'`` or ``'ADJ'``. A run may start with the ACC of
    a dense stage in its own mode (then it starts from unit directions: the
    global sweeps become one call, as ``jacfwd``/``jacrev`` are). The
    multiply-adds are the same whether the run is one call or many; a
    framework with a cost per call (PyTorch's ``torch.func``) makes fewer.

    Examples
    --------
    >>> from chainopt import Factor, plan as make_plan
    >>> fs = [Factor(n_in=4, n_out=4, tangent=16, adjoint=16)] * 3 + [Factor(n_in=4, n_out=1, given=True)]
    >>> p = make_plan(fs, "fwd")
    >>> [op for op, *_ in p.operations], fused_sweeps(p)
    (['ACC', 'TAN', 'TAN', 'MUL'], {0: (2, 2, 'TAN')})
    """
    ops, out, k = plan.operations, {}, 0
    while k < len(ops):
        op, lo, _, hi = ops[k]
        mode = plan.steps[k].mode if op == "ACC" else op
        end = k
        if mode in ("TAN", "ADJ") and not _diag_range(plan, lo, hi):
            while end + 1 < len(ops):
                nop, nlo, _, nhi = ops[end + 1]
                plo, phi = ops[end][1], ops[end][3]
                if not (nop == mode and ((mode == "TAN" and (nlo, nhi) == (plo, phi + 1))
                                         or (mode == "ADJ" and (nlo, nhi) == (plo - 1, phi)))):
                    break
                end += 1
        if end > k:
            out[k] = (end, ops[end][3] if mode == "TAN" else ops[end][1], mode)
        k = end + 1
    return out

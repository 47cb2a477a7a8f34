"""Run a generalized plan (ACC, MUL, TAN, ADJ) on real factors.

A :class:`~chainopt.core.plan.Plan` over :class:`~chainopt.core.factors.Factor`
objects says how to reduce ``F_q o ... o F_1`` to its Jacobian
``J = F'_q ... F'_1`` of shape ``(n_N, n_1)``. Running it needs the factors
themselves, from a **provider** (see :class:`FactorProvider`): for factor ``k``
(0-based, layer order) its formed Jacobian, and its tangent and adjoint
applied to a whole block of directions in one call.

:func:`run_plan` executes ``plan.operations`` in order and drops every
intermediate as soon as the operation consuming it has run, so the
intermediates held are the plan's ``peak_memory`` (a diagonal Jacobian is
held as its 1-D diagonal):

* ACC by TAN: ``provider.tangent(k, I_{n_in})`` (one all-ones direction for a
  diagonal factor); by ADJ: ``provider.adjoint(k, I_{n_out})`` (one all-ones
  row); a given factor is ``provider.jacobian(k)`` and needs no operation.
* MUL: ``@``, or a row or column scaling when an operand is diagonal.
* TAN: ``provider.tangent(hi, J_{hi-1..lo})``, the whole block at once.
* ADJ: ``provider.adjoint(lo, J_{hi..lo+1})``, the whole block at once.

A diagonal operand of a TAN or ADJ is pushed through as the dense
``np.diag(d)`` block (the ``n_lo`` directions the cost model counts), except
onto a diagonal factor, where the range stays diagonal and the one direction
``d`` suffices.

:class:`MatrixFactors` is the provider for formed Jacobians, and
:func:`execute_generalized` runs a plan on them, checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from chainopt.core.memory import MemoryEstimate
from chainopt.core.plan import Plan
from chainopt.errors import ChainoptError, NonFiniteError, ShapeError
from chainopt.execution.budget import BUDGET_FLOOR, check_memory

__all__ = [
    "FactorProvider", "MatrixFactors", "run_plan", "execute_generalized", "apply_operation", "operands_of",
    "check_factor_arrays",
]


@runtime_checkable
class FactorProvider(Protocol):
    """What :func:`run_plan` needs of a chain's factors ``F_1 .. F_q`` (0-based ``k``, layer order).

    Every method takes and returns numpy arrays; each is called once per
    operation of the plan, with the whole block of directions (a dense
    layer answers with one BLAS call, never a loop over directions).
    A provider may also have a ``dtype`` attribute, the dtype of the unit
    directions an ACC pushes through (default ``float64``).

    Methods
    -------
    jacobian(k)
        The formed Jacobian ``F'_k``: a ``(n_out, n_in)`` array, or for a
        diagonal factor its diagonal, 1-D of length ``n_in``. Called for
        given factors only.
    tangent(k, block)
        ``F'_k @ block`` for a ``(n_in, c)`` block of ``c`` directions, a
        ``(n_out, c)`` array.
    adjoint(k, block)
        ``block @ F'_k`` for a ``(r, n_out)`` block of ``r`` rows, a
        ``(r, n_in)`` array.
    """

    def jacobian(self, k: int) -> np.ndarray:
        """The Jacobian of factor ``k``, 2-D, or 1-D (its diagonal) for a diagonal factor."""
        ...  # pragma: no cover

    def tangent(self, k: int, block: np.ndarray) -> np.ndarray:
        """``F'_k @ block`` for a ``(n_in, c)`` block, in one call."""
        ...  # pragma: no cover

    def adjoint(self, k: int, block: np.ndarray) -> np.ndarray:
        """``block @ F'_k`` for a ``(r, n_out)`` block, in one call."""
        ...  # pragma: no cover


class MatrixFactors:
    """The provider for formed Jacobians ``[A_1, ..., A_q]`` in layer order.

    ``A_k`` is a ``(n_{k+1}, n_k)`` array; a diagonal factor may be given as
    its 1-D diagonal (then tangents and adjoints are scalings) or as a
    square matrix (:func:`run_plan` keeps only its diagonal when the plan's
    factor says it is diagonal).

    Parameters
    ----------
    mats : sequence of array_like
        The Jacobians, input side first.

    Examples
    --------
    >>> p = MatrixFactors([np.array([2.0, 3.0]), np.ones((1, 2))])
    >>> p.tangent(0, np.eye(2))
    array([[2., 0.],
           [0., 3.]])
    >>> p.adjoint(1, np.array([[5.0]]))
    array([[5., 5.]])
    """

    def __init__(self, mats: Sequence):
        self.mats = [np.asarray(a) for a in mats]
        if not self.mats:
            raise ShapeError("MatrixFactors needs at least one Jacobian, got none")
        self.dtype = np.result_type(*self.mats) if all(a.dtype.kind in "fc" for a in self.mats) else np.float64

    def __len__(self) -> int:
        return len(self.mats)

    def jacobian(self, k: int) -> np.ndarray:
        """``A_k`` as given (1-D for a diagonal given by its diagonal)."""
        return self.mats[k]

    def tangent(self, k: int, block: np.ndarray) -> np.ndarray:
        """``A_k @ block`` (``d[:, None] * block`` for a diagonal ``d``)."""
        a = self.mats[k]
        return a[:, None] * block if a.ndim == 1 else a @ block

    def adjoint(self, k: int, block: np.ndarray) -> np.ndarray:
        """``block @ A_k`` (``block * d[None, :]`` for a diagonal ``d``)."""
        a = self.mats[k]
        return block * a[None, :] if a.ndim == 1 else block @ a


def _dims(plan: Plan, lo: int, hi: int) -> tuple[int, int]:
    d = plan.chain.dims
    return d[hi + 1], d[lo]


def _checked(plan: Plan, what: str, lo: int, hi: int, result, diagonal: bool) -> np.ndarray:
    """``result`` as the Jacobian of factors ``lo..hi``: 1-D if ``diagonal``, else 2-D; checks its shape."""
    result = np.asarray(result)
    rows, cols = _dims(plan, lo, hi)
    if diagonal and result.ndim == 2 and result.shape == (rows, cols):
        result = np.diagonal(result).copy()
    expected = (cols,) if diagonal else (rows, cols)
    if result.shape != expected:
        raise ShapeError(
            f"{what} gave an array of shape {result.shape} for the Jacobian of F{lo + 1}..F{hi + 1}; "
            f"expected {expected}" + (" (its diagonal)" if diagonal else "")
        )
    return result


def _leaf(plan: Plan, provider, k: int) -> np.ndarray:
    """A given factor's Jacobian from the provider (1-D if diagonal)."""
    diagonal = plan._is_diagonal(k, k)
    return _checked(plan, f"provider.jacobian({k})", k, k, provider.jacobian(k), diagonal)


def _as_block(x: np.ndarray) -> np.ndarray:
    """A held Jacobian as a dense block (a diagonal becomes ``np.diag(d)``)."""
    return np.diag(x) if x.ndim == 1 else x


def _mul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``left @ right``; a 1-D operand is a diagonal, so the product is a scaling."""
    if left.ndim == 1 and right.ndim == 1:
        return left * right
    if left.ndim == 1:
        return left[:, None] * right
    if right.ndim == 1:
        return left * right[None, :]
    return left @ right


def apply_operation(plan: Plan, provider, index: int, operands: Sequence[np.ndarray]) -> np.ndarray:
    """The result of ``plan.operations[index]`` from its operands' Jacobians.

    ``operands`` holds the input-side operand then the output-side one for a
    MUL, the one range a TAN or ADJ extends, nothing for an ACC. Diagonal
    Jacobians are 1-D (their diagonals), in and out. This is the body of
    every step of :func:`run_plan` and of every task of
    :func:`chainopt.execution.dask.execute_dask`.
    """
    op, lo, mid, hi = plan.operations[index]
    diagonal = plan._is_diagonal(lo, hi)
    if op == "MUL":
        right, left = operands
        return _checked(plan, f"MUL {lo + 1}..{hi + 1}", lo, hi, _mul(left, right), diagonal)
    if op == "TAN":  # F'_hi @ J_{hi-1..lo}
        (inner,) = operands
        block = inner[:, None] if diagonal else _as_block(inner)
        return _checked(plan, f"provider.tangent({hi}, ...)", lo, hi, _flat(provider.tangent(hi, block), diagonal),
                        diagonal)
    if op == "ADJ":  # J_{hi..lo+1} @ F'_lo
        (outer,) = operands
        block = outer[None, :] if diagonal else _as_block(outer)
        return _checked(plan, f"provider.adjoint({lo}, ...)", lo, hi, _flat(provider.adjoint(lo, block), diagonal),
                        diagonal)
    factor = plan.factors[lo]
    mode = plan.steps[index].mode
    dtype = getattr(provider, "dtype", np.float64)
    if mode == "TAN":
        seeds = np.ones((factor.n_in, 1), dtype) if diagonal else np.eye(factor.n_in, dtype=dtype)
        result, what = provider.tangent(lo, seeds), f"provider.tangent({lo}, ...)"
    else:
        seeds = np.ones((1, factor.n_out), dtype) if diagonal else np.eye(factor.n_out, dtype=dtype)
        result, what = provider.adjoint(lo, seeds), f"provider.adjoint({lo}, ...)"
    return _checked(plan, what, lo, hi, _flat(result, diagonal), diagonal)


def _flat(result, diagonal: bool):
    """A single direction's ``(n, 1)`` or ``(1, n)`` answer as the 1-D diagonal it is."""
    result = np.asarray(result)
    return result.reshape(-1) if diagonal and result.ndim == 2 and 1 in result.shape else result


def operands_of(op: str, lo: int, mid: int, hi: int) -> tuple[tuple[int, int], ...]:
    """The factor ranges an operation consumes: input side first for a MUL, none for an ACC."""
    if op == "MUL":
        return ((lo, mid), (mid + 1, hi))
    if op == "TAN":
        return ((lo, hi - 1),)
    if op == "ADJ":
        return ((lo + 1, hi),)
    return ()


def _final(plan: Plan, result: np.ndarray, *, copy: bool) -> np.ndarray:
    """The chain's Jacobian as a 2-D ``(n_N, n_1)`` array (a diagonal becomes ``np.diag(d)``)."""
    if result.ndim == 1:
        return np.diag(result)
    return result.copy() if copy else result


def run_plan(plan: Plan, provider) -> np.ndarray:
    """The Jacobian ``F'_q ... F'_1`` of a plan's chain, operation by operation.

    Parameters
    ----------
    plan : Plan
        A plan over factors (``plan.factors``), e.g. from
        :meth:`Plan.from_nodes` with the nodes of
        :func:`~chainopt.core.strategies.generalized.generalized_dp`; a plan
        of formed Jacobians (``plan.factors is None``) runs its MULs.
    provider : FactorProvider
        The factors (see :class:`FactorProvider`; :class:`MatrixFactors`
        for formed Jacobians).

    Returns
    -------
    numpy.ndarray
        The ``(n_N, n_1)`` Jacobian, always 2-D and a new array.

    Raises
    ------
    ShapeError
        If the provider answers with an array of the wrong shape.

    Examples
    --------
    >>> from chainopt.core.factors import Factor
    >>> from chainopt.core.strategies.generalized import generalized_dp
    >>> fs = [Factor(n_in=2, n_out=3, tangent=6, adjoint=6),
    ...       Factor(n_in=3, n_out=3, tangent=3, adjoint=3, diagonal=True)]
    >>> plan = Plan.from_nodes(fs, generalized_dp(fs)[1])
    >>> str(plan)
    'F2 A1'
    >>> W, d = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    >>> run_plan(plan, MatrixFactors([W, d]))
    array([[ 0.,  1.],
           [ 4.,  6.],
           [12., 15.]])
    """
    q = plan.chain.n_factors
    live: dict[tuple[int, int], np.ndarray] = {}
    for index, (op, lo, mid, hi) in enumerate(plan.operations):
        operands = [live.pop(r) if r in live else _leaf(plan, provider, r[0]) for r in operands_of(op, lo, mid, hi)]
        live[(lo, hi)] = apply_operation(plan, provider, index, operands)
        del operands
    if not live:  # one given factor: no operation
        return _final(plan, _leaf(plan, provider, 0), copy=True)
    return _final(plan, live.pop((0, q - 1)), copy=False)


def check_factor_arrays(plan: Plan, mats: Sequence, *, check_finite: bool = True) -> list[np.ndarray]:
    """``mats`` as arrays, checked against the plan: count, shape (1-D allowed if diagonal), finiteness."""
    if isinstance(mats, np.ndarray) and mats.ndim != 1:
        mats = list(mats)
    arrays = [np.asarray(a) for a in mats]
    q = plan.chain.n_factors
    if len(arrays) != q:
        raise ShapeError(f"the plan has {q} factors but {len(arrays)} Jacobians were given")
    for k, a in enumerate(arrays):
        rows, cols = _dims(plan, k, k)
        ok = [(rows, cols)] + ([(cols,)] if plan._is_diagonal(k, k) else [])
        if a.dtype.kind not in "biufc":
            raise ShapeError(f"A{k + 1} has dtype {a.dtype}; expected numbers")
        if a.shape not in ok:
            raise ShapeError(f"A{k + 1} has shape {a.shape}; the plan expects {' or '.join(map(str, ok))}")
        if check_finite and not np.isfinite(a).all():
            raise NonFiniteError(f"A{k + 1} has NaN or infinite entries (pass check_finite=False to allow them)")
    return arrays


def execute_generalized(plan: Plan, mats: Sequence, *, check_finite: bool = True,
                        budget: int | None = None) -> np.ndarray:
    """Run a generalized plan on formed Jacobians ``[A_1, ..., A_q]`` (layer order).

    Each factor's tangent and adjoint are products with its matrix
    (:class:`MatrixFactors`); a diagonal factor may be its 1-D diagonal.
    Inputs are checked first (count, shapes, finiteness unless
    ``check_finite=False``), and the intermediates' memory against
    ``budget`` bytes (``None``: the default budget).

    Examples
    --------
    >>> from chainopt.core.factors import Factor
    >>> fs = [Factor(n_in=2, n_out=2, tangent=4, adjoint=4), Factor(n_in=2, n_out=1, given=True)]
    >>> plan = Plan.parse("A2 A1", fs)
    >>> execute_generalized(plan, [np.eye(2), np.array([[1.0, 2.0]])])
    array([[1., 2.]])
    """
    if not isinstance(plan, Plan):
        raise ChainoptError(f"execute_generalized needs a Plan, got {type(plan).__name__} {plan!r}")
    arrays = check_factor_arrays(plan, mats, check_finite=check_finite)
    itemsize = np.result_type(*arrays).itemsize
    needed = plan.peak_memory * itemsize
    if needed > (BUDGET_FLOOR if budget is None else budget):
        check_memory(MemoryEstimate(inputs=0, intermediates=needed, itemsize=itemsize), budget,
                     what="executing this plan")
    return run_plan(plan, MatrixFactors(arrays))

"""Checking Jacobians against a chain before any work, and the layer-order convention."""

from __future__ import annotations

import cmath
from collections.abc import Sequence

import numpy as np

from chainopt.core.chain import as_chain
from chainopt.errors import NonFiniteError, ShapeError

__all__ = ["written_order", "check_jacobians", "plain_arrays", "check_result_finite", "blame_nonfinite"]

_KINDS = {"i": "integer", "u": "unsigned integer", "f": "floating", "c": "complex"}


def written_order(mats: Sequence) -> list:
    """The factors in written order ``[A_{N-1}, ..., A_1]`` from layer order ``[A_1, ..., A_{N-1}]``.

    chainopt passes Jacobians in layer order, the order a network computes
    them; numpy's ``multi_dot`` and the product as written in mathematics go
    the other way. This is the only conversion between the two.

    Examples
    --------
    >>> a1, a2 = np.ones((3, 2)), np.ones((4, 3))   # layer order: A_1 then A_2
    >>> [m.shape for m in written_order([a1, a2])]
    [(4, 3), (3, 2)]
    """
    return list(mats)[::-1]


def _describe_nonfinite(a: np.ndarray) -> str:
    bad = ~np.isfinite(a)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    first = a[index].item()
    return f"{int(bad.sum()):,} non-finite entr{'y' if bad.sum() == 1 else 'ies'}, the first {first} at {index}"


def _all_finite(a: np.ndarray) -> bool:
    """Whether every entry is finite; a sum is the fast test, the elementwise test confirms."""
    if a.dtype.kind in "iu":
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return True
    return bool(np.isfinite(a).all())  # the sum may have overflowed on finite entries


def check_jacobians(chain, mats: Sequence, *, check_finite: bool = True) -> list[np.ndarray]:
    """Validate Jacobians in layer order against a chain; return them as arrays.

    Accepted entries are integer, floating or complex numbers. Integer arrays
    are returned as float64 copies: ``@`` on fixed-width integers wraps
    around silently (two int8 factors of 100s give 48, not 30000). Booleans
    are refused: ``@`` on bool arrays computes logical or-of-ands, not sums of
    products. Object, string, bytes and date arrays are refused too.

    Parameters
    ----------
    chain : Chain or sequence of int
        The dims the Jacobians must have, input first.
    mats : sequence of array_like
        ``[A_1, ..., A_{N-1}]``, ``A_k`` of shape ``(n_{k+1}, n_k)``.
    check_finite : bool
        Refuse NaN and infinite entries.

    Raises
    ------
    ShapeError
        For the wrong number of factors, an array that is not 2-D, a
        non-numeric dtype, or a shape that does not match the chain.
    NonFiniteError
        For a NaN or infinity when ``check_finite`` is true.

    Examples
    --------
    >>> check_jacobians([2, 6, 5], [np.ones((6, 2)), np.ones((5, 7))])
    Traceback (most recent call last):
    ...
    chainopt.errors.ShapeError: A_2 has shape (5, 7) but the chain 2 -> 6 -> 5 needs (5, 6)
    """
    chain = as_chain(chain)
    if isinstance(mats, np.ndarray) and mats.ndim != 1:
        raise ShapeError(
            f"expected a sequence of {chain.n_factors} Jacobians in layer order, got one array of "
            f"shape {mats.shape}; pass a list [A_1, ..., A_{chain.n_factors}]"
        )
    try:
        mats = list(mats)
    except TypeError:
        raise ShapeError(
            f"expected a sequence of {chain.n_factors} Jacobians in layer order, got {type(mats).__name__} {mats!r}"
        ) from None
    if len(mats) != chain.n_factors:
        raise ShapeError(
            f"got {len(mats)} Jacobian{'s' * (len(mats) != 1)} but the chain {chain} has "
            f"{chain.n_factors} factor{'s' * (chain.n_factors != 1)} (A_1..A_{chain.n_factors}, layer order)"
        )
    arrays = []
    dims = chain.dims
    for k, m in enumerate(mats, start=1):
        a = m if type(m) is np.ndarray else np.asarray(m)
        if a.dtype.kind not in _KINDS:
            why = "bool (@ on bools is logical, not arithmetic)" if a.dtype.kind == "b" else str(a.dtype)
            raise ShapeError(
                f"A_{k} has dtype {why}; Jacobians must hold integer, floating or complex numbers"
            )
        if a.ndim != 2:
            raise ShapeError(
                f"A_{k} is a {a.ndim}-D array of shape {a.shape}; Jacobians must be 2-D, "
                f"A_{k} of shape {chain.factor_shape(k)}"
            )
        if a.shape != (dims[k], dims[k - 1]):
            raise ShapeError(f"A_{k} has shape {a.shape} but the chain {chain} needs {chain.factor_shape(k)}")
        arrays.append(a.astype(np.float64) if a.dtype.kind in "iu" else a)
    if check_finite:
        for k, a in enumerate(arrays, start=1):
            if not _all_finite(a):
                raise NonFiniteError(
                    f"A_{k} has {_describe_nonfinite(a)}; pass check_finite=False to let them propagate"
                )
    return arrays


def plain_arrays(mats) -> tuple[tuple[int, ...], list[np.ndarray]] | None:
    """The dims and arrays of Jacobians that need no conversion, or ``None`` when :func:`check_jacobians` must look.

    The fast path of the one-call API: a list of 2-D floating or complex
    ``numpy.ndarray`` s with positive sides, each taking the previous one's
    output, is used as it is (no copy, no ``asarray``), and its dims come
    from the shapes. Anything else (lists, integer arrays, a mismatch) gets
    ``None``, and the full check then says what is wrong.

    Examples
    --------
    >>> plain_arrays([np.ones((3, 2)), np.ones((4, 3))])[0]
    (2, 3, 4)
    >>> plain_arrays([np.ones((3, 2)), np.ones((4, 5))]) is None
    True
    """
    if isinstance(mats, np.ndarray):
        return None
    try:
        arrays = mats if isinstance(mats, list) else list(mats)
    except TypeError:
        return None
    if not arrays:
        return None
    ndarray = np.ndarray
    dims = [0]
    previous = None
    for a in arrays:
        if type(a) is not ndarray:
            return None
        shape = a.shape
        if len(shape) != 2 or a.dtype.kind not in "fc":
            return None
        rows, cols = shape
        if previous is None:
            previous = dims[0] = cols
        if cols != previous or rows == 0 or cols == 0:
            return None
        dims.append(rows)
        previous = rows
    return tuple(dims), arrays


def check_result_finite(result: np.ndarray, arrays: list[np.ndarray]) -> np.ndarray:
    """Return the product ``result`` of ``arrays``; if a factor holds a NaN or infinity, refuse it.

    Finiteness is checked once, on the product's first row and first
    column, which is enough under IEEE arithmetic: in ``C = L @ R`` a
    non-finite ``L[i, j]`` meets every entry of row ``j`` of ``R`` (``0 *
    inf`` is NaN, ``inf - inf`` is NaN, NaN stays NaN), so the whole row
    ``i`` of ``C`` is non-finite; a non-finite ``R[j, k]`` makes the whole
    column ``k`` non-finite. By induction over the products, a bad entry in
    any factor leaves a whole row or column of the result non-finite, and
    every row meets column 0, every column meets row 0. Only then are the
    factors scanned, to name the culprit. The row and column are tested at
    once, by the finiteness of ``row.dot(0) + column.dot(0)`` (dot products
    with zero vectors: 0 for any finite entries, however large, NaN as soon
    as one is NaN or infinite; a third of the cost of two ``isfinite``
    scans, and unable to overflow). A single factor (no product) is checked
    whole. A product of finite factors that overflows is returned as it is,
    after numpy's own overflow warning (only ``invalid``, which only a
    non-finite factor causes, is silenced around the products).

    Raises
    ------
    NonFiniteError
        Naming the first factor with a NaN or infinity, and where.

    Examples
    --------
    >>> a1, a2 = np.ones((2, 2)), np.array([[1.0, np.nan]])
    >>> check_result_finite(a2 @ a1, [a1, a2])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    chainopt.errors.NonFiniteError: A_2 has 1 non-finite entry, the first nan at (0, 1); pass check_finite=False
        to let them propagate
    """
    if result.dtype.kind in "biu":
        return result
    if len(arrays) > 1:
        row, column = result[0], result[:, 0]
        zeros = np.zeros(max(row.size, column.size), result.dtype)
        with np.errstate(invalid="ignore"):  # 0 * inf is the NaN the test looks for
            test = row.dot(zeros[: row.size]) + column.dot(zeros[: column.size])
        if cmath.isfinite(test):
            return result
    if len(arrays) == 1 and _all_finite(result):
        return result
    return blame_nonfinite(result, arrays)


def blame_nonfinite(result: np.ndarray, arrays: list[np.ndarray]) -> np.ndarray:
    """Name the first factor holding a NaN or infinity; return ``result`` if every factor is finite.

    The slow half of :func:`check_result_finite`, run when the quick test of
    the result failed: the result overflowed (its factors are finite, and it
    is returned as numpy would), or a factor is to blame.

    Raises
    ------
    NonFiniteError
    """
    for k, a in enumerate(arrays, start=1):
        if not _all_finite(a):
            raise NonFiniteError(f"A_{k} has {_describe_nonfinite(a)}; pass check_finite=False to let them propagate")
    return result

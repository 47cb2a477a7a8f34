"""Result checking: every strategy's product against the naive one, within the rounding-error bound.

The reference is ``functools.reduce(np.matmul, written_order(mats))``. Any
order of a product of ``m``-term sums differs from the exact product by at
most ``m eps |A_{N-1}| ... |A_1|`` entry by entry (to first order), so two
orders differ by at most twice that: :func:`check_results` allows
``2 m eps (|A_{N-1}| ... |A_1|)`` with ``m`` the sum of the inner dims.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from chainopt.core.chain import Chain
from chainopt.errors import ResultMismatchError

__all__ = ["check_results"]


def _abs_product(written: Sequence[np.ndarray]) -> np.ndarray:
    """``|A_{N-1}| @ ... @ |A_1|``, one absolute copy at a time (the rounding-error scale)."""
    out = np.abs(written[0])
    for a in written[1:]:
        out = out @ np.abs(a)
    return out


def check_results(funcs: Mapping[str, Callable[[], np.ndarray]], written: Sequence[np.ndarray], chain: Chain,
                  plans: Mapping[str, str]) -> dict[str, float]:
    """Run each function once and compare its result with the reference product.

    Parameters
    ----------
    funcs : dict of str to callable
        Strategy name -> a zero-argument callable returning the chain's Jacobian.
    written : sequence of numpy.ndarray
        The Jacobians in written order (output side first).
    chain : Chain
        Their chain (for the inner dims of the bound).
    plans : dict of str to str
        Strategy name -> its plan as text, for the error message.

    Returns
    -------
    dict of str to float
        ``max|R - ref| / max|ref|`` per strategy (the absolute difference when ``ref`` is 0).

    Raises
    ------
    ResultMismatchError
        If some entry differs by more than the rounding-error bound.

    Examples
    --------
    >>> a, b = np.eye(2), 2 * np.eye(2)
    >>> check_results({"fwd": lambda: b @ a}, [b, a], Chain([2, 2, 2]), {"fwd": "A2 A1"})
    {'fwd': 0.0}
    """
    reference = functools.reduce(np.matmul, written)
    ref_size = float(np.max(np.abs(reference))) if reference.size else 0.0
    dtype = np.result_type(*written)
    eps = float(np.finfo(dtype).eps) if dtype.kind in "fc" else 0.0
    bound = 2 * sum(chain.dims[1:-1]) * eps * _abs_product(written)
    rel_diff = {}
    for name, f in funcs.items():
        err = np.abs(f() - reference)
        rel_diff[name] = float(err.max()) / ref_size if ref_size else float(err.max())
        if not (err <= bound).all():
            k = np.unravel_index(np.argmax(err - bound), err.shape)
            raise ResultMismatchError(
                f"strategy {name!r} ({plans[name]}) disagrees with the reference product "
                f"functools.reduce(np.matmul, written order) at entry {tuple(map(int, k))}: difference "
                f"{err[k]:.3g} exceeds the rounding bound {bound[k]:.3g} (max relative difference "
                f"{rel_diff[name]:.3g})"
            )
        del err
    return rel_diff

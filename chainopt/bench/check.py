"""Result checking: every strategy's product against a float64 reference, within a rounding tolerance.

The reference is ``functools.reduce(np.matmul, written_order(mats))``
computed in float64 (the factors upcast, so a float32 run is checked against
a product about 2**29 times more precise). Two orders of the same chain
differ only by rounding; the difference is measured relative to the largest
entry of the reference,

    rel = max|R - ref| / max|ref|,

and allowed up to ``tolerance = SAFETY * sqrt(m) * eps`` with ``m`` the sum
of the inner dims and ``eps`` the machine epsilon of the strategy's dtype.
This is the probabilistic rounding-error bound of Higham and Mary (2019,
"A new approach to probabilistic rounding error analysis"): rounding errors
of an ``m``-term computation grow like ``sqrt(m) eps``, not ``m eps``, with
overwhelming probability. The worst-case entrywise bound
``m eps |A_{N-1}| ... |A_1|`` is not used: on long chains it grows like
``(0.8 sqrt(n))**N`` while the product stays of order 1 (101 random dims in
20..100 give about 1e78 times the product; in float32 it overflows to
``inf``), so it could never catch anything. Measured on such chains (float32,
fwd, bwd and optimal), ``rel`` is about ``0.2 sqrt(m) eps``;
``SAFETY = 16`` leaves a margin of about 80x, while a product with one entry
changed by a tenth of the largest one is off by ``0.1`` (far beyond any
tolerance below 1e-2).

Everything is computed in float64 on the magnitudes of the products, never on
``|A|`` products, so nothing overflows at any length.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from chainopt.core.chain import Chain
from chainopt.errors import ResultMismatchError

__all__ = ["check_results", "tolerance", "SAFETY"]

#: Multiple of ``sqrt(m) eps`` allowed (see the module docstring for how it was chosen).
SAFETY = 16.0


def tolerance(chain: Chain, dtype) -> float:
    """The relative difference ``max|R - ref| / max|ref|`` allowed for a product of ``chain`` in ``dtype``.

    ``SAFETY * sqrt(m) * eps`` with ``m`` the sum of the inner dims (at least 1).

    Examples
    --------
    >>> f"{tolerance(Chain([10, 100, 10]), np.float64):.2e}"
    '3.55e-14'
    """
    dtype = np.dtype(dtype)
    eps = float(np.finfo(dtype).eps) if dtype.kind in "fc" else 0.0
    return SAFETY * math.sqrt(max(1, sum(chain.dims[1:-1]))) * eps


def check_results(funcs: Mapping[str, Callable[[], np.ndarray]], written: Sequence[np.ndarray], chain: Chain,
                  plans: Mapping[str, str]) -> dict[str, float]:
    """Run each function once and compare its result with the float64 reference product.

    Parameters
    ----------
    funcs : dict of str to callable
        Strategy name -> a zero-argument callable returning the chain's Jacobian.
    written : sequence of numpy.ndarray
        The Jacobians in written order (output side first).
    chain : Chain
        Their chain (for the inner dims of the tolerance).
    plans : dict of str to str
        Strategy name -> its plan as text, for the error message.

    Returns
    -------
    dict of str to float
        ``max|R - ref| / max|ref|`` per strategy (the absolute difference when ``ref`` is 0).

    Raises
    ------
    ResultMismatchError
        If a strategy's relative difference exceeds :func:`tolerance` (or its
        result is not finite where the reference is).

    Examples
    --------
    >>> a, b = np.eye(2), 2 * np.eye(2)
    >>> check_results({"fwd": lambda: b @ a}, [b, a], Chain([2, 2, 2]), {"fwd": "A2 A1"})
    {'fwd': 0.0}
    >>> check_results({"fwd": lambda: b @ a + [[0, 1e-3], [0, 0]]}, [b, a], Chain([2, 2, 2]), {"fwd": "A2 A1"})
    Traceback (most recent call last):
    ...
    chainopt.errors.ResultMismatchError: strategy 'fwd' (A2 A1) disagrees with the reference product \
functools.reduce(np.matmul, written order) in float64: max relative difference 0.0005 at entry (0, 1), over the \
rounding tolerance 5.02e-15 (16 sqrt(m) eps, m = 2)
    """
    # one factor upcast at a time (float32 runs), so the reference needs one float64 copy, not all of them
    reference = functools.reduce(lambda acc, a: acc @ np.asarray(a, dtype=np.float64), written[1:],
                                 np.asarray(written[0], dtype=np.float64))
    ref_size = float(np.max(np.abs(reference))) if reference.size else 0.0
    dtype = np.result_type(*written)
    allowed = tolerance(chain, dtype)
    m = max(1, sum(chain.dims[1:-1]))
    rel_diff = {}
    for name, f in funcs.items():
        with np.errstate(over="ignore", invalid="ignore"):
            err = np.abs(np.asarray(f(), dtype=np.float64) - reference)
        worst = float(np.max(err)) if err.size else 0.0
        if np.isnan(err).any():
            worst = math.inf
        rel = worst / ref_size if ref_size else worst
        rel_diff[name] = rel
        if not rel <= allowed:
            k = np.unravel_index(np.argmax(np.nan_to_num(err, nan=np.inf)), err.shape)
            raise ResultMismatchError(
                f"strategy {name!r} ({plans[name]}) disagrees with the reference product "
                f"functools.reduce(np.matmul, written order) in float64: max relative difference {rel:.3g} at entry "
                f"{tuple(map(int, k))}, over the rounding tolerance {allowed:.3g} ({SAFETY:g} sqrt(m) eps, m = {m})"
            )
        del err
    return rel_diff

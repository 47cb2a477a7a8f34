"""Plans compiled to straight-line ``@`` code: the one-call API's fast path.

``co.multiply(mats, "optimal")`` and ``co.execute(plan, mats)`` are called
again and again on Jacobians of the same shapes (each step of a training
loop, each point of a sweep). The first call on some shapes validates
everything; it then compiles the plan into the function a person would write
for it (:func:`compile_products`: ``t0 = m[1] @ m[0]``, ``t1 = m[3] @ m[2]``,
``t2 = t1 @ t0`` ..., each intermediate deleted once consumed, the finiteness
test of the result inline) and remembers it under the call's **signature**:
the strategy (or the plan) and each array's exact type, shape and dtype. A
later call with the same signature has passed the same checks by
construction, so it runs the compiled function directly.

Why the care: the Python run before and after the products is far dearer
than its warm cost. A product that streams megabytes of weights evicts the
interpreter's code and data from the caches, so each statement of the next
call's prologue runs cold. Measured on the funnel chain (1000 ... 200, 1;
0.37 ms of products), a 1.6 us validation loop added 18 us per call, and
``np.errstate``'s enter and exit about 15 us more than setting numpy's error
state directly (see :data:`quiet`). The fast path is therefore one dict
lookup keyed by a list comprehension, then the compiled function.

Only calls the default memory budget can never refuse are compiled (the
plan's intermediates within :data:`~chainopt.execution.budget.BUDGET_FLOOR`
at any dtype), and only chains of 2 to :data:`MAX_COMPILED_FACTORS` factors
of exact ``numpy.ndarray`` s of 4-byte or wider floating or complex dtypes;
everything else takes the full path every time. The code is generated from
the plan's integers only, never from data.
"""

from __future__ import annotations

import cmath
import operator
from collections.abc import Callable

import numpy as np

from chainopt.core.plan import Plan
from chainopt.execution.validate import blame_nonfinite

__all__ = [
    "products_source",
    "compile_products",
    "by_strategy",
    "by_plan",
    "signature",
    "array_signature",
    "remember",
    "compiled_cache_clear",
    "compiled_cache_size",
    "quiet",
    "MAX_COMPILED_FACTORS",
    "COMPILED_CACHE_SIZE",
    "FAST_DTYPES",
]

#: The longest chain compiled (longer ones run the executor's loop; their products dwarf its cost).
MAX_COMPILED_FACTORS = 256
#: How many signatures each cache keeps (the oldest is forgotten first).
COMPILED_CACHE_SIZE = 256
#: dtype characters of the fast path: float32, float64, longdouble and the complex ones. float16 is left
#: out because its squares overflow at 256, so its finiteness test is elementwise (see check_result_finite).
FAST_DTYPES = frozenset("fdgFDG")


def _quiet_hooks() -> tuple[Callable[[], object], Callable[[object], None]]:
    """``(enter, exit)``: the caller's numpy error state with ``invalid`` ignored, around the products.

    Only ``invalid`` is silenced: ``0 * inf`` and ``inf - inf``, which arise
    only from a factor that is already non-finite, and that factor is
    refused by name instead. An overflow of finite factors warns (or
    raises) as the caller's error state says, as numpy's ``@`` does.

    numpy 2 keeps its error state in a context variable; setting it to a
    prepared state and resetting the token is what ``np.errstate`` does,
    without building the state and two Python frames on every call. The
    prepared state is derived once per caller's state (the last one is
    kept). If numpy's layout differs (numpy 1.26, or a future version),
    ``np.errstate(invalid="ignore")`` itself is used.
    """
    try:
        from numpy._core.umath import _extobj_contextvar

        get, set_state = _extobj_contextvar.get, _extobj_contextvar.set
    except (ImportError, AttributeError):
        def fallback_enter():
            state = np.errstate(invalid="ignore")
            state.__enter__()
            return state

        def fallback_leave(state):
            state.__exit__(None, None, None)

        return fallback_enter, fallback_leave
    last = [(None, None)]  # (the caller's state, it with invalid ignored), swapped as one tuple: thread-safe

    def enter():
        base = get()
        pair = last[0]
        if pair[0] is not base:
            with np.errstate(invalid="ignore"):
                pair = (base, get())
            last[0] = pair
        return set_state(pair[1])

    return enter, _extobj_contextvar.reset


#: ``(enter, exit)`` hooks silencing numpy's ``invalid`` warnings around the products (see :func:`_quiet_hooks`).
quiet = _quiet_hooks()


def products_source(plan: Plan, name: str = "run", *, check_finite: bool = False) -> str:
    """Python source of a function ``name(m)`` running ``plan``'s products on ``m = [A_1, ..., A_N]``.

    One ``@`` statement per split, in the plan's order, each intermediate
    deleted once consumed (so the memory is the plan's ``peak_memory``, as
    the executor's loop). With ``check_finite`` the products run with
    numpy's ``invalid`` warnings silenced (see :data:`quiet`) and the
    result's first row and column are tested at once (see :func:`~chainopt.execution.validate.check_result_finite`);
    a result failing the test is handed to ``_blame``
    (:func:`~chainopt.execution.validate.blame_nonfinite`), which names the
    culprit or, if every factor is finite, returns the result.

    Examples
    --------
    >>> import chainopt as co
    >>> print(products_source(co.plan([2, 3, 4, 5], "bwd")))
    def run(m):
        t0 = m[2] @ m[1]
        t1 = t0 @ m[0]
        del t0
        return t1
    """
    names: dict[tuple[int, int], str] = {}
    body = []
    for i, (lo, mid, hi) in enumerate(plan.splits):
        right = names.pop((lo, mid), f"m[{lo}]")
        left = names.pop((mid + 1, hi), f"m[{hi}]")
        body.append(f"t{i} = {left} @ {right}")
        done = [operand for operand in (left, right) if operand.startswith("t")]
        if done:
            body.append(f"del {', '.join(done)}")
        names[(lo, hi)] = f"t{i}"
    result = names.popitem()[1] if names else "m[0].copy()"
    if not check_finite:
        return "\n".join([f"def {name}(m):", *(f"    {line}" for line in body), f"    return {result}"])
    return "\n".join([
        f"def {name}(m):",
        "    token = _enter()",
        "    try:",
        *(f"        {line}" for line in body),
        f"        r = {result}",
        *(f"        {line}" for line in _finiteness_test(plan.chain.dims[-1], plan.chain.dims[0])),
        "            return r",
        "    finally:",
        "        _exit(token)",
        "    return _blame(r, m)",
    ])


def _finiteness_test(rows: int, columns: int) -> list[str]:
    """The test of a ``rows x columns`` result ``r``: its first row and column, a single one when it is a vector.

    Each is dotted with zeros (``_zr``, ``_zc``): 0 for finite entries,
    whatever their size, NaN as soon as one is NaN or infinite, so the test
    itself can never overflow or warn.
    """
    if rows == 1:
        return ["if _isfinite(r[0].dot(_zr)):"]
    if columns == 1:
        return ["if _isfinite(r[:, 0].dot(_zc)):"]
    return ["if _isfinite(r[0].dot(_zr) + r[:, 0].dot(_zc)):"]


def compile_products(plan: Plan, *, check_finite: bool = False, dtype=np.float64) -> Callable:
    """:func:`products_source` compiled: a function ``run(m)`` giving the plan's product of ``m``.

    Its ``source`` attribute holds the code. It checks nothing about ``m``;
    the callers compile it only for arrays they have validated.

    Examples
    --------
    >>> import chainopt as co
    >>> mats = co.random_jacobians([2, 3, 4, 5], seed=0)
    >>> run = compile_products(co.plan([2, 3, 4, 5], "fwd"), check_finite=True)
    >>> bool(np.allclose(run(mats), mats[2] @ mats[1] @ mats[0]))
    True
    """
    source = products_source(plan, check_finite=check_finite)
    rows, columns = plan.chain.dims[-1], plan.chain.dims[0]
    namespace = {"_enter": quiet[0], "_exit": quiet[1], "_isfinite": cmath.isfinite, "_blame": blame_nonfinite,
                 "_zr": np.zeros(columns, dtype), "_zc": np.zeros(rows, dtype)}  # the result's dtype: no casts
    exec(compile(source, f"<products of {plan}>", "exec"), namespace)  # generated from the plan's ints only
    run = namespace["run"]
    run.source = source
    return run


#: One array's part of a call's signature, ``(type, shape, dtype character)``, read in C (no Python frame).
array_signature = operator.attrgetter("__class__", "shape", "dtype.char")


def signature(mats) -> tuple:
    """What a fast call must match: each array's exact type, shape and dtype character.

    Raises ``AttributeError`` for entries that are not arrays (the caller
    then takes the full path, which says what is wrong). The callers spell
    it out inline as ``(*map(array_signature, mats),)``.

    Examples
    --------
    >>> signature([np.ones((3, 2)), np.ones((4, 3), dtype=np.float32)])
    ((<class 'numpy.ndarray'>, (3, 2), 'd'), (<class 'numpy.ndarray'>, (4, 3), 'f'))
    """
    return (*map(array_signature, mats),)


#: ``(strategy, check_finite, *signature) -> run``: what ``multiply`` looks up first.
by_strategy: dict[tuple, Callable] = {}
#: ``(id(plan), check_finite, *signature) -> (plan, run)``: what ``execute`` looks up first. Plans are keyed
#: by identity; the entry holds the plan, so its ``id`` cannot be reused by another object while the entry lives.
by_plan: dict[tuple, tuple[Plan, Callable]] = {}


def remember(plan: Plan, arrays: list, check_finite: bool, *, strategy: str | None = None,
             budget_floor: int) -> Callable | None:
    """Compile ``plan`` for validated ``arrays`` and remember it under their signature, if the fast path may serve it.

    Called by the full path after every check passed, with ``strategy`` for
    ``multiply`` (the plan is then found by name) or without it for
    ``execute`` (found by the plan itself). Returns the compiled function,
    or ``None`` when this call is not one the fast path serves (see the
    module docstring).
    """
    if not 2 <= len(arrays) <= MAX_COMPILED_FACTORS or plan.factors is not None:
        return None
    if plan.peak_memory * 32 > budget_floor:  # 32 bytes: the widest dtype; the budget could refuse this plan
        return None
    key = signature(arrays)
    if any(t is not np.ndarray or char not in FAST_DTYPES for t, _, char in key):
        return None
    run = compile_products(plan, check_finite=check_finite, dtype=np.result_type(*arrays))
    if strategy is not None:
        _store(by_strategy, (strategy, check_finite, *key), run)
    else:
        _store(by_plan, (id(plan), check_finite, *key), (plan, run))
    return run


def _store(cache: dict, key: tuple, value) -> None:
    if len(cache) >= COMPILED_CACHE_SIZE:
        try:
            cache.pop(next(iter(cache)), None)  # the oldest entry
        except (StopIteration, RuntimeError):  # emptied or resized by another thread meanwhile
            pass
    cache[key] = value


def compiled_cache_clear() -> None:
    """Forget every compiled function."""
    by_strategy.clear()
    by_plan.clear()


def compiled_cache_size() -> int:
    """How many compiled functions are remembered (both caches)."""
    return len(by_strategy) + len(by_plan)

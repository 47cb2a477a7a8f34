"""Run a plan as a Dask task graph: one task per operation, in parallel where the tree allows.

A plan's tree has independent subtrees (the two operands of a MUL), which
can run at the same time. :func:`plan_graph` writes the plan as a plain
Dask graph (a dict): one task per operation of ``plan.operations`` (its body
is :func:`chainopt.execution.generalized.apply_operation`: products as numpy
matmuls, TAN and ADJ through the provider), one small task per given
factor read from the provider, and the provider and the plan as data
(shipped once, not once per task). :func:`execute_dask` computes it on any
Dask scheduler, ``"sync"``, ``"threads"``, ``"processes"``, or a
``distributed.Client`` the caller started (it never starts a cluster).

When tasks may run at once, each holds BLAS (and OpenMP) to one thread
while it runs (``threadpoolctl``), so ``w`` workers use ``w`` cores rather
than ``w`` times all of them. The limit is per process and counted: the
first running task of a process sets it, the last one to finish restores
the previous limits, so concurrent tasks in one process never undo each
other's limit.

Dask is optional: it is imported inside :func:`execute_dask` only, and
``import chainopt`` never imports it. Install it with
``pip install "chainopt[dask]"``.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np

from chainopt.core.plan import Plan
from chainopt.errors import ChainoptError
from chainopt.execution.generalized import (
    FactorProvider,
    MatrixFactors,
    _final,
    _leaf,
    apply_operation,
    check_factor_arrays,
    operands_of,
)

__all__ = ["execute_dask", "plan_graph", "SCHEDULERS"]

#: Scheduler names Dask accepts and whether their tasks can run at once (then BLAS is held to one thread).
SCHEDULERS = {
    "sync": False, "synchronous": False, "single-threaded": False,
    "threads": True, "threading": True,
    "processes": True, "multiprocessing": True,
}

_INSTALL = 'pip install "chainopt[dask]"'

_lock = threading.Lock()
_running = 0  # tasks of this process inside _one_blas_thread
_controller = None
_limiter = None


@contextmanager
def _one_blas_thread(enabled: bool):
    """BLAS and OpenMP held to one thread while any limited task of this process runs."""
    global _running, _controller, _limiter
    if not enabled:
        yield
        return
    with _lock:
        if _running == 0:
            if _controller is None or _controller[0] != len(sys.modules):
                from threadpoolctl import ThreadpoolController

                # a new controller only when modules were imported since the last one (a BLAS loaded
                # since, scipy's own say, is then limited too); building one costs ~0.5 ms
                _controller = (len(sys.modules), ThreadpoolController())
            _release_openblas()  # another thread (the caller's, say) may hold OpenBLAS's control
            _limiter = _controller[1].limit(limits=1)
            _release_openblas()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                _release_openblas()
                _limiter.restore_original_limits()
                _limiter = None
                _release_openblas()


def _release_openblas():
    """Let any thread change OpenBLAS's (process-wide) limit next.

    threadpoolctl >= 3.8 lets only one "controlling" thread set a pthreads
    OpenBLAS's thread count, and the thread that restores the limit here (the
    last task out) need not be the one that set it (the first task in); the
    counter and the lock above already keep tasks from fighting.
    """
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover - older threadpoolctl: any thread may set it
        return
    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


def _operation_task(plan, provider, index, limit, *operands):
    """One operation of the plan (a task of the graph)."""
    with _one_blas_thread(limit):
        return apply_operation(plan, provider, index, operands)


def _leaf_task(plan, provider, k):
    """A given factor's Jacobian, read from the provider (a task of the graph)."""
    return _leaf(plan, provider, k)


def _as_provider(plan: Plan, provider_or_mats, check_finite: bool):
    if isinstance(provider_or_mats, FactorProvider):
        return provider_or_mats
    if isinstance(provider_or_mats, (str, bytes)) or not isinstance(provider_or_mats, (Sequence, np.ndarray)):
        raise ChainoptError(
            "execute_dask needs a provider (jacobian, tangent and adjoint methods) or a sequence of "
            f"Jacobians, got {type(provider_or_mats).__name__}"
        )
    return MatrixFactors(check_factor_arrays(plan, provider_or_mats, check_finite=check_finite))


def plan_graph(plan: Plan, provider, *, limit_threads: bool = True, name: str | None = None):
    """The plan as a Dask graph: ``(graph, key)``, a dict and the key of the chain's Jacobian.

    Keys are ``(name, lo, hi)`` for the Jacobian of factors ``lo..hi``
    (0-based); ``name + '-plan'`` and ``name + '-provider'`` hold the plan and
    the provider. Tasks are ``(callable, *args)`` tuples. The result at
    ``key`` is the Jacobian as held (a diagonal one as its 1-D diagonal);
    :func:`execute_dask` turns it into the ``(n_N, n_1)`` matrix. Building
    the graph needs no Dask.

    Parameters
    ----------
    plan : Plan
    provider : FactorProvider
    limit_threads : bool
        Hold BLAS to one thread inside each operation's task.
    name : str, optional
        The keys' prefix (default: ``'chainopt-'`` and a random hex string).

    Examples
    --------
    >>> import numpy as np
    >>> from chainopt.core.factors import Factor
    >>> fs = [Factor(n_in=2, n_out=3, tangent=6, adjoint=6), Factor(n_in=3, n_out=1, given=True)]
    >>> plan = Plan.parse("A2 F1", fs)
    >>> graph, key = plan_graph(plan, MatrixFactors([np.ones((3, 2)), np.ones((1, 3))]), name="p")
    >>> key, sorted(k for k in graph if isinstance(k, tuple))
    (('p', 0, 1), [('p', 0, 1), ('p', 1, 1)])
    """
    name = name or f"chainopt-{uuid.uuid4().hex}"
    plan_key, provider_key = f"{name}-plan", f"{name}-provider"
    _ = plan.steps  # computed once here and shipped with the plan, not once per task
    graph = {plan_key: plan, provider_key: provider}
    for index, (op, lo, mid, hi) in enumerate(plan.operations):
        operands = []
        for a, b in operands_of(op, lo, mid, hi):
            if (name, a, b) not in graph:  # not computed by an operation: a given factor
                graph[(name, a, b)] = (_leaf_task, plan_key, provider_key, a)
            operands.append((name, a, b))
        graph[(name, lo, hi)] = (_operation_task, plan_key, provider_key, index, limit_threads, *operands)
    key = (name, 0, plan.chain.n_factors - 1)
    if key not in graph:  # one given factor: no operation
        graph[key] = (_leaf_task, plan_key, provider_key, 0)
    return graph, key


def execute_dask(plan: Plan, provider_or_mats, scheduler="threads", *, check_finite: bool = True):
    """The chain's Jacobian, each operation of the plan a task of a Dask graph.

    Parameters
    ----------
    plan : Plan
        Any plan (generalized, or of formed Jacobians).
    provider_or_mats : FactorProvider or sequence of array_like
        The factors (see :class:`~chainopt.execution.generalized.FactorProvider`),
        or their formed Jacobians in layer order (checked as by
        :func:`~chainopt.execution.generalized.execute_generalized`). With
        ``"processes"`` or a distributed cluster of processes the provider
        must pickle.
    scheduler : str or distributed.Client
        A Dask scheduler name (``"sync"``, ``"threads"``, ``"processes"``)
        or a ``distributed.Client`` connected to a cluster you started.
    check_finite : bool
        Refuse NaN or infinite entries in formed Jacobians.

    Returns
    -------
    numpy.ndarray
        The ``(n_N, n_1)`` Jacobian, equal to
        :func:`~chainopt.execution.generalized.run_plan`'s.

    Raises
    ------
    ChainoptError
        Dask is not installed (the message names ``pip install
        "chainopt[dask]"``), or ``scheduler`` is not a scheduler.

    Examples
    --------
    >>> import numpy as np, pytest
    >>> _ = pytest.importorskip("dask")  # the example needs the optional Dask
    >>> from chainopt.core.factors import Factor
    >>> fs = [Factor(n_in=4, n_out=4, tangent=16, adjoint=16) for _ in range(4)]
    >>> plan = Plan.from_nodes(fs, {(0, 3): ("MUL", 1), (0, 1): ("TAN", 0), (2, 3): ("ADJ", 2)})
    >>> str(plan)
    '(A4 F3) (F2 A1)'
    >>> mats = [np.eye(4) * (k + 1) for k in range(4)]
    >>> J = execute_dask(plan, mats, scheduler="threads")
    >>> J[0, 0], J.shape
    (np.float64(24.0), (4, 4))
    """
    try:
        import dask
        from dask.delayed import Delayed
    except ImportError:
        raise ChainoptError(f"running a plan with a scheduler needs Dask, which is not installed: {_INSTALL}") from None
    if not isinstance(plan, Plan):
        raise ChainoptError(f"execute_dask needs a Plan, got {type(plan).__name__} {plan!r}")
    if isinstance(scheduler, str):
        if scheduler not in SCHEDULERS:
            raise ChainoptError(
                f"unknown scheduler {scheduler!r}; use one of {', '.join(map(repr, SCHEDULERS))} "
                "or a distributed.Client connected to a cluster you started"
            )
        limit = SCHEDULERS[scheduler]
    elif callable(getattr(scheduler, "get", None)) and callable(getattr(scheduler, "submit", None)):
        limit = True  # a distributed.Client: its workers run tasks at once
    else:
        raise ChainoptError(
            f"scheduler must be a Dask scheduler name or a distributed.Client, got {type(scheduler).__name__}"
        )
    provider = _as_provider(plan, provider_or_mats, check_finite)
    graph, key = plan_graph(plan, provider, limit_threads=limit)
    (result,) = dask.compute(Delayed(key, graph), scheduler=scheduler)
    return _final(plan, result, copy=not plan.operations)

"""One core for a fair comparison: every thread of the process pinned to one CPU, every thread pool held to 1.

XLA's CPU flags alone did not stop JAX using 1.8 cores; pinning the
process's threads (``os.sched_setaffinity``) does, and threads started
inside inherit it. BLAS and OpenMP are held by threadpoolctl, PyTorch by
``torch.set_num_threads``; everything is restored on exit.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

__all__ = ["one_core"]


@contextmanager
def one_core(cpu: int | None = None):
    """Every thread of this process on one CPU, BLAS/OpenMP and torch on one thread; restored on exit.

    Threads started inside inherit the pinning. ``cpu`` defaults to the
    last CPU the process may use. Yields the CPU.
    """
    from threadpoolctl import threadpool_limits

    allowed = os.sched_getaffinity(0)
    cpu = max(allowed) if cpu is None else cpu
    tasks = [int(t) for t in os.listdir("/proc/self/task")] if Path("/proc/self/task").is_dir() else [0]
    before = {}
    for tid in tasks:
        try:
            before[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, {cpu})
        except OSError:  # a thread that ended meanwhile
            pass
    torch_threads = _torch_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield cpu
    finally:
        _torch_threads(torch_threads)
        for tid, cpus in before.items():
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:
                pass
        for tid in (int(t) for t in os.listdir("/proc/self/task")) if Path("/proc/self/task").is_dir() else ():
            if tid not in before:  # started inside (jax, torch pools): back to what the process may use
                try:
                    os.sched_setaffinity(tid, allowed)
                except OSError:
                    pass


def _torch_threads(n):
    """Set torch's intra-op threads to ``n`` if torch is imported; the previous count (or None)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or n is None:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    return previous

"""Two machines: the makespan plan's predicted speed-up beside the one measured on Dask's threads.

For each chain of formed random Jacobians:

* the sequential optimum ``p1 = plan(dims)`` runs on Dask's ``"sync"``
  scheduler (one task at a time) with BLAS held to one thread: one machine;
* the makespan plan ``p2 = plan(dims, "optimal", machines=2)`` runs on
  Dask's ``"threads"`` scheduler with two workers, each task's BLAS held to
  one thread (:func:`chainopt.execution.dask.execute_dask`): two machines;
* ``p1`` on ``"threads"`` too, to show what the tree alone allows.

The predicted speed-up is ``p1.cost / p2.makespan`` (multiply-adds on one
machine over the makespan on two); the measured one is the ratio of the
``sync`` and ``threads`` times in the same interleaved round, median and
range over the rounds. Chains: the six reference shapes of issue 9, and
seeded random chains on which the two-machine plan differs from the
sequential one. Dask's own cost is measured apart: seconds per no-op task
in graphs of independent and of dependent tasks, on both schedulers.

Needs the Dask extra (``pip install "chainopt[dask]"``).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.bench.harness import time_interleaved
from chainopt.core.factors import as_factors
from chainopt.core.strategies import plan
from chainopt.core.strategies.schedule import schedule
from chainopt.errors import ChainoptError, ResultMismatchError
from chainopt.execution.workloads import random_jacobians
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.report.render import markdown_table

__all__ = ["main", "run", "find_parallel_chains", "task_overhead", "tree_splits", "SHAPES", "MACHINES"]

#: Issue 9's six reference shapes (widths, input first), run as formed random Jacobians.
SHAPES = {
    "hourglass": (1000, 100, 10, 100, 1000),
    "funnel-to-scalar": (1000, 800, 600, 400, 200, 1),
    "expanding": (1, 200, 400, 600, 800, 1000),
    "uniform": (500,) * 6,
    "mlp-like": (784, 512, 256, 128, 64, 10),
    "bottleneck-middle": (100, 1000, 10, 1000, 100),
}
MACHINES = 2
VARIANTS = ("sync p1", "threads p2", "threads p1")


def _need_dask():
    try:
        import dask
    except ImportError:
        raise ChainoptError('measuring on Dask needs Dask: pip install "chainopt[dask]"') from None
    return dask


def _have_dask() -> bool:
    import importlib.util

    return importlib.util.find_spec("dask") is not None


def tree_splits(p) -> frozenset:
    """A plan's tree as ``(lo, mid, hi)`` products, a TAN or ADJ through a given factor read as its MUL.

    Examples
    --------
    >>> sorted(tree_splits(plan([100, 1000, 10, 1000, 100])))  # (A4 A3) (A2 A1)
    [(0, 0, 1), (0, 1, 3), (2, 2, 3)]
    >>> sorted(tree_splits(plan([100, 1000, 10, 1000, 100], "optimal", machines=2)))  # the same tree
    [(0, 0, 1), (0, 1, 3), (2, 2, 3)]
    """
    return frozenset((lo, mid, hi) for op, lo, mid, hi in p.operations if op != "ACC")


def _makespan_of(p, dims, machines: int) -> int:
    """The makespan of ``p``'s tree on ``machines`` (the reference's schedule builder)."""
    nodes = {(lo, hi): (op, mid) for op, lo, mid, hi in p.operations}
    for k in range(len(dims) - 1):
        nodes.setdefault((k, k), ("ACC", k))
    ops = schedule(as_factors(list(dims)), nodes, machines)
    return max(op.end for op in ops)


def find_parallel_chains(count: int, *, seed: int = 0, lengths=(4, 5, 6, 7), low: int = 200, high: int = 1500,
                         tries: int = 2000) -> dict:
    """``count`` seeded random chains whose two-machine plan differs from the sequential one.

    Their predicted speed-up ``plan(dims).cost / plan(dims, machines=2).makespan`` exceeds 1.

    Examples
    --------
    >>> (name, dims), = find_parallel_chains(1, seed=0, low=20, high=120).items()
    >>> name, tree_splits(plan(list(dims))) != tree_splits(plan(list(dims), "optimal", machines=2))
    ('random-1', True)
    """
    rng = np.random.default_rng(seed)
    found = {}
    for _ in range(tries):
        if len(found) == count:
            break
        q = int(rng.choice(lengths))
        dims = tuple(int(d) for d in rng.integers(low, high + 1, q + 1))
        p1, p2 = plan(list(dims)), plan(list(dims), "optimal", machines=MACHINES)
        if tree_splits(p1) != tree_splits(p2) and p1.cost > p2.makespan:
            found[f"random-{len(found) + 1}"] = dims
    return found


def _relative_error(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), np.finfo(float).tiny))


def measure_chain(name, dims, *, repeats: int, seed: int, prime: bool, measure: bool = True):
    """Time the three variants on one chain: a dict of predictions and per-round seconds.

    With ``measure=False`` (no Dask) only the predictions; every time is NaN.
    """
    p1, p2 = plan(list(dims)), plan(list(dims), "optimal", machines=MACHINES)
    predictions = {
        "chain": name, "dims": " ".join(map(str, dims)), "plan p1": str(p1), "plan p2": str(p2),
        "cost p1": p1.cost, "cost p2": p2.cost, "makespan p1": _makespan_of(p1, dims, MACHINES),
        "makespan p2": p2.makespan,
    }
    if not measure:
        return {**predictions, "times": {v: [float("nan")] for v in VARIANTS}}
    from threadpoolctl import threadpool_limits

    from chainopt.execution.dask import execute_dask

    dask = _need_dask()
    mats = random_jacobians(list(dims), seed=seed)

    def threads(p):
        with dask.config.set(num_workers=MACHINES):
            return execute_dask(p, mats, scheduler="threads")

    funcs = {"sync p1": lambda: execute_dask(p1, mats, scheduler="sync"),
             "threads p2": lambda: threads(p2), "threads p1": lambda: threads(p1)}
    # BLAS is held to one thread for the whole measurement (not per call: setting the limit costs about
    # a millisecond); the threads scheduler's tasks set the same limit for themselves.
    with threadpool_limits(limits=1):
        results = {k: f() for k, f in funcs.items()}
        errors = {k: _relative_error(v, results["sync p1"]) for k, v in results.items()}
        if max(errors.values()) > 1e-10:
            raise ResultMismatchError(f"{name}: the variants' Jacobians differ (relative errors {errors})")
        times = time_interleaved(funcs, repeats=repeats, warmup=0, prime=prime)
    return {**predictions, "times": times}


def run(chains: dict, *, repeats: int = 9, seed: int = 0, prime: bool = True, measure: bool = True,
        progress=None):
    """Measure every chain; ``(summary, times)`` DataFrames (one row per chain; one per round and variant)."""
    import pandas as pd

    summary, rounds = [], []
    for index, (name, dims) in enumerate(chains.items()):
        if progress:
            progress(f"parallel: {name} {dims}")
        m = measure_chain(name, dims, repeats=repeats, seed=seed + index, prime=prime, measure=measure)
        times = m.pop("times")
        ratios = [s / t for s, t in zip(times["sync p1"], times["threads p2"])]
        ratios_p1 = [s / t for s, t in zip(times["sync p1"], times["threads p1"])]
        summary.append({
            **m,
            "predicted": m["cost p1"] / m["makespan p2"],
            "predicted p1": m["cost p1"] / m["makespan p1"],
            "measured": statistics.median(ratios), "measured_low": min(ratios), "measured_high": max(ratios),
            "measured p1": statistics.median(ratios_p1),
            **{f"{v} s": statistics.median(times[v]) for v in VARIANTS},
            **{f"{v} s {end}": f(times[v]) for v in VARIANTS for end, f in (("min", min), ("max", max))},
        })
        rounds += [{"chain": name, "variant": v, "round": r, "seconds": s}
                   for v in VARIANTS for r, s in enumerate(times[v])]
    return pd.DataFrame(summary), pd.DataFrame(rounds)


def _noop(*_):
    return None


def task_overhead(tasks: int = 200, *, repeats: int = 5) -> list[dict]:
    """Dask's seconds per task, on ``sync`` and ``threads`` (medians).

    Graphs of ``tasks`` no-op tasks, all independent or each depending on
    the previous, then :func:`~chainopt.execution.dask.execute_dask` on the
    forward-mode plan of ``tasks`` 2 x 2 Jacobians, per operation (Dask's
    and chainopt's own per-task work together).
    """
    dask = _need_dask()
    from dask.local import get_sync
    from dask.threaded import get as get_threads

    graphs = {
        "independent": ({("noop", i): (_noop,) for i in range(tasks)}, [("noop", i) for i in range(tasks)]),
        "dependent": ({("noop", i): (_noop, ("noop", i - 1)) if i else (_noop,) for i in range(tasks)},
                      [("noop", tasks - 1)]),
    }
    rows = []
    for shape, (graph, keys) in graphs.items():
        for name, get in (("sync", get_sync), ("threads", get_threads)):
            seconds = []
            for _ in range(repeats):
                with dask.config.set(num_workers=MACHINES):
                    start = time.perf_counter()
                    get(graph, keys)
                    seconds.append((time.perf_counter() - start) / tasks)
            rows.append({"graph": shape, "scheduler": name, "tasks": tasks,
                         "us per task": statistics.median(seconds) * 1e6,
                         "min us": min(seconds) * 1e6, "max us": max(seconds) * 1e6})
    rows += _plan_overhead(tasks, repeats)
    return rows


def _plan_overhead(factors: int, repeats: int) -> list[dict]:
    """``execute_dask``'s seconds per operation of the forward-mode plan of a chain of 2 x 2 Jacobians."""
    dask = _need_dask()
    from chainopt.execution.dask import execute_dask

    dims = [2] * (factors + 1)
    p, mats = plan(dims), [np.eye(2)] * factors
    rows = []
    for name in ("sync", "threads"):
        seconds = []
        for _ in range(repeats + 1):  # the first call is a warm-up
            with dask.config.set(num_workers=MACHINES):
                start = time.perf_counter()
                execute_dask(p, mats, scheduler=name)
                seconds.append((time.perf_counter() - start) / len(p.operations))
        rows.append({"graph": "chainopt plan, 2x2 Jacobians (per operation)", "scheduler": name,
                     "tasks": len(p.operations), "us per task": statistics.median(seconds[1:]) * 1e6,
                     "min us": min(seconds[1:]) * 1e6, "max us": max(seconds[1:]) * 1e6})
    return rows


def _table(summary):
    return [{
        "chain": r["chain"], "dims": r["dims"], "sequential plan": r["plan p1"], "2-machine plan": r["plan p2"],
        "predicted": f"{r['predicted']:.2f}x", "measured": f"{r['measured']:.2f}x",
        "measured range": f"{r['measured_low']:.2f}-{r['measured_high']:.2f}x",
        "p1 on threads: predicted": f"{r['predicted p1']:.2f}x", "p1 on threads: measured": f"{r['measured p1']:.2f}x",
        **{f"{v} s [range]": f"{r[f'{v} s']:.3g} [{r[f'{v} s min']:.3g}, {r[f'{v} s max']:.3g}]"
           for v in ("sync p1", "threads p2")},
    } for r in summary.to_dict("records")]


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None):
    """Run the measurement and write ``parallel.{csv,md,png}`` (and ``parallel_rounds.csv``) into ``out_dir``.

    Returns a dict with ``paths``, ``reading``, ``data`` (the summary) and
    ``overhead`` (the no-op task rows).
    """
    from chainopt.plots import plot_speedups

    measure = _have_dask()
    out = prepare(out_dir)
    info = machine_info()
    if quick:
        chains = {**find_parallel_chains(1, seed=seed, low=20, high=120), "hourglass": SHAPES["hourglass"]}
    else:
        chains = {**SHAPES, **find_parallel_chains(6, seed=seed)}
    summary, rounds = run(chains, repeats=3 if quick else 9, seed=seed, prime=not quick, measure=measure,
                          progress=progress)
    sizes = (20,) if quick else (20, 200)
    overhead = [r for n in sizes for r in task_overhead(n, repeats=2 if quick else 7)] if measure else []
    csv_path = write_csv(summary, out / "parallel.csv")
    rounds_path = write_csv(rounds, out / "parallel_rounds.csv")
    png_path = save_figure(plot_speedups(summary).figure, out / "parallel.png")

    randoms = summary[summary["chain"].str.startswith("random")]
    per_task = {(r["graph"], r["scheduler"]): r["us per task"] for r in overhead if r["tasks"] >= max(sizes) - 1}
    predicted = f"predicted {randoms['predicted'].median():.2f}x faster (median)"
    if measure:
        best = summary.loc[summary["measured"].idxmax()]
        measured = (
            f"{predicted} and measured {randoms['measured'].median():.2f}x; the largest measured speed-up was "
            f"{best['measured']:.2f}x ({best['chain']}, predicted {best['predicted']:.2f}x). Dask costs about "
            f"{per_task[('independent', 'threads')]:.0f} us per task on threads in graphs of {max(sizes)} tasks "
            f"({per_task[('independent', 'sync')]:.0f} us on sync), and `execute_dask` about "
            f"{per_task[('chainopt plan, 2x2 Jacobians (per operation)', 'threads')]:.0f} us per operation "
            "on threads."
        )
        plan_key = "chainopt plan, 2x2 Jacobians (per operation)"
        overhead_line = (f"- Dask per no-op task in graphs of {max(sizes)} tasks: "
                         f"{per_task[('independent', 'threads')]:.0f} us on threads, "
                         f"{per_task[('independent', 'sync')]:.0f} us on sync (independent tasks); `execute_dask` "
                         f"per operation of a plan of tiny Jacobians: {per_task[(plan_key, 'threads')]:.0f} us on "
                         f"threads, {per_task[(plan_key, 'sync')]:.0f} us on sync")
    else:
        measured = f"{predicted}; nothing was measured: Dask is not installed (pip install \"chainopt[dask]\")."
        overhead_line = "- not measured: Dask is not installed (`pip install \"chainopt[dask]\"`)"
    reading = (f"On {MACHINES} machines, the {len(randoms)} random chains whose two-machine plan differs from the "
               f"sequential one were {measured}")
    body = [
        "Predicted speed-up on 2 machines (`plan(dims).cost / plan(dims, \"optimal\", machines=2).makespan`, "
        "multiply-adds) beside the measured one: the sequential plan p1 on Dask's `sync` scheduler with BLAS "
        "held to one thread, over the two-machine plan p2 on `threads` with two workers and one BLAS thread per "
        f"task, in the same interleaved round (median and range over {rounds['round'].nunique()} rounds; seed "
        f"{seed}, formed random Jacobians, every variant's Jacobian checked against the others). `p1 on threads` "
        "runs the sequential plan's tree on two workers (predicted: its tree's makespan on 2 machines). "
        "Per-round seconds are in `parallel_rounds.csv`.",
        "",
        f"- random chains where the 2-machine plan differs: predicted **{randoms['predicted'].median():.2f}x**, "
        f"measured **{randoms['measured'].median():.2f}x** (medians over {len(randoms)} chains)",
        overhead_line,
        "",
        "![predicted vs measured speed-up](parallel.png)",
        "",
        markdown_table(_table(summary)),
        "",
        "## Dask's overhead per task",
        "",
        "Seconds per task of graphs of no-op tasks (all independent, or each depending on the previous), and "
        "per operation of `execute_dask` running the forward-mode plan of a chain of 2 x 2 Jacobians (one task "
        "per operation plus one per given factor; Dask's and chainopt's per-task work together), median of "
        "repeats, in microseconds:",
        "",
        markdown_table([{**r, "us per task": f"{r['us per task']:.1f}", "min us": f"{r['min us']:.1f}",
                         "max us": f"{r['max us']:.1f}"} for r in overhead]) or overhead_line,
    ]
    md_path = write_markdown(out / "parallel.md", "Two machines: predicted and measured speed-up on Dask", body,
                             command="python experiments/parallel.py" + (" --quick" if quick else ""), info=info)
    return {"paths": [csv_path, rounds_path, png_path, md_path], "reading": reading, "data": summary,
            "overhead": overhead}

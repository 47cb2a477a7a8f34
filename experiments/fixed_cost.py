"""The one-call API's fixed cost per call, piece by piece: warm, and cold after a product that flushes the caches.

Prints (writes no report) the median time per call of ``co.multiply``,
``co.execute`` and the same products written as bare ``@`` statements on
five 2 x 2 matrices, and of the pieces the difference is made of: the
lookup of the call's signature, the compiled function with and without its
finiteness test, numpy's error state set and reset, and, for comparison,
the full path a first call takes (shape checks, plan cache, the executor's
loop).

**Warm** (the default): interleaved rounds in a balanced order
(``time_interleaved``), thousands of calls per measurement, so every piece
runs with its code and data in cache. **Cold** (``--cold``): each call is
timed alone right after an untimed product that streams 12.8 MB of
matrices (the funnel chain's factors, 1000 x 800 ... 200 x 1), as a user's
loop does between two calls on a real chain, and the median of thousands
of such single calls is printed. The pieces cost several times more cold
than warm; that is why the fast path is one dictionary lookup.

Usage: python experiments/fixed_cost.py [--repeats 21] [--number 2000] [--cold]
"""

import argparse
import random
import statistics
import time

import numpy as np

import chainopt as co
from chainopt.bench.harness import time_interleaved
from chainopt.execution import compiled
from chainopt.execution.cache import cached_plan
from chainopt.execution.executor import _run
from chainopt.execution.validate import plain_arrays


def calls(mats, plan) -> dict:
    """Name -> a call without arguments, for the chain ``mats`` and its ``plan``."""
    bare = compiled.compile_products(plan)
    checked = compiled.compile_products(plan, check_finite=True)
    enter, leave = compiled.quiet
    dims = plan.chain.dims
    co.multiply(mats), co.execute(plan, mats)  # compiled for these shapes

    def quiet():
        leave(enter())

    return {
        "bare @ statements": lambda: bare(mats),
        "co.multiply": lambda: co.multiply(mats, "optimal"),
        "co.execute": lambda: co.execute(plan, mats),
        "signature lookup": lambda: compiled.by_strategy.get(("optimal", True, *map(compiled.array_signature, mats))),
        "compiled, finiteness tested": lambda: checked(mats),
        "numpy error state set and reset": quiet,
        "full path: shape checks": lambda: plain_arrays(mats),
        "full path: plan cache lookup": lambda: cached_plan(dims, "optimal"),
        "full path: the executor's loop": lambda: _run(plan, mats),
    }


def cold_times(funcs: dict, rounds: int, flush) -> dict:
    """Median nanoseconds of each call timed alone just after ``flush()``, in a shuffled order each round."""
    times = {name: [] for name in funcs}
    names = list(funcs)
    clock = time.perf_counter_ns
    for _ in range(rounds):
        random.shuffle(names)
        for name in names:
            flush()
            start = clock()
            funcs[name]()
            times[name].append(clock() - start)
    return {name: [t / 1e9 for t in ts] for name, ts in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21, help="warm: rounds; cold: rounds x 100")
    parser.add_argument("--number", type=int, default=2000, help="warm: calls per measurement")
    parser.add_argument("--cold", action="store_true", help="time each call alone after a cache-flushing product")
    args = parser.parse_args(argv)
    dims = [2] * 6
    mats = co.random_jacobians(dims, seed=0)
    funcs = calls(mats, co.plan(dims, "optimal"))
    if args.cold:
        funnel = co.random_jacobians([1000, 800, 600, 400, 200, 1], seed=1)
        flush = compiled.compile_products(co.plan([1000, 800, 600, 400, 200, 1], "optimal"))
        times = cold_times(funcs, 100 * args.repeats, lambda: flush(funnel))
        how = f"each call alone after a 12.8 MB product, {100 * args.repeats} calls each"
    else:
        times = time_interleaved(funcs, repeats=args.repeats, warmup=1, number=args.number)
        how = f"{args.repeats} rounds of {args.number} calls"
    width = max(map(len, funcs))
    print(f"median us per call on five 2 x 2 matrices, {how} (numpy {np.__version__}):")
    for name, ts in times.items():
        print(f"  {name:<{width}}  {1e6 * statistics.median(ts):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

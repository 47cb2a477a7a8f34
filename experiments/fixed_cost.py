"""The one-call API's fixed cost per call, piece by piece, on a chain whose products cost nothing.

Prints (writes no report) the median time per call of ``co.multiply``,
``co.execute`` and the same five products written as one ``@`` expression
on five 2 x 2 matrices, and of the pieces the difference is made of: the
fast path's shape checks, the plan cache, numpy's ``errstate`` and the
finiteness check on the result. Interleaved rounds in a balanced order
(``time_interleaved``), thousands of calls per measurement.

Usage: python experiments/fixed_cost.py [--repeats 21] [--number 2000]
"""

import argparse
import statistics

import numpy as np

import chainopt as co
from chainopt.bench.harness import time_interleaved
from chainopt.execution.cache import cached_plan
from chainopt.execution.executor import _run
from chainopt.execution.validate import check_result_finite, plain_arrays


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)
    mats = [np.random.default_rng(k).random((2, 2)) for k in range(5)]
    plan = co.plan([2] * 6, "optimal")
    result = _run(plan, mats)

    def quiet():
        with np.errstate(invalid="ignore", over="ignore"):
            pass

    calls = {
        "bare @ expression": lambda: mats[4] @ (mats[3] @ (mats[2] @ (mats[1] @ mats[0]))),
        "co.multiply": lambda: co.multiply(mats, "optimal"),
        "co.execute": lambda: co.execute(plan, mats),
        "the executor's loop alone": lambda: _run(plan, mats),
        "shape checks (plain_arrays)": lambda: plain_arrays(mats),
        "plan cache lookup": lambda: cached_plan((2,) * 6, "optimal"),
        "np.errstate": quiet,
        "finiteness of the result": lambda: check_result_finite(result, mats),
    }
    times = time_interleaved(calls, repeats=args.repeats, warmup=1, number=args.number)
    width = max(map(len, calls))
    print(f"median us per call, {args.repeats} rounds of {args.number} calls (numpy {np.__version__}):")
    for name, ts in times.items():
        print(f"  {name:<{width}}  {1e6 * statistics.median(ts):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Execute fwd, bwd, optimal and multi_dot on six chain shapes; writes reports/bench.{md,csv}.

Usage: python experiments/bench_shapes.py [--out reports] [--quick]
"""

import argparse
import sys

from chainopt.experiments.bench_shapes import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--quick", action="store_true", help="dims divided by 10, few repeats: a few seconds")
    parser.add_argument("--seed", type=int, default=0, help="seeds the Jacobians (default: 0)")
    args = parser.parse_args()
    result = main(args.out, args.quick, seed=args.seed, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(result["reading"])
    for path in result["paths"]:
        print(f"wrote {path}")

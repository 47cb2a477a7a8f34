"""Benchmark the exact optimal-order DP; writes reports/dp_scaling.{md,csv,png}.

Usage: python experiments/dp_scaling.py [--out reports] [--quick]
"""

import argparse
import sys

from chainopt.experiments.dp_scaling import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--quick", action="store_true", help="small sizes only, a few seconds")
    args = parser.parse_args()
    result = main(args.out, args.quick, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    for n, r in result["ratios"].items():
        print(f"numpy helper / chainopt at {n} factors: " + ("not measured" if r is None else f"{r:,.0f}x"))
    for path in result["paths"]:
        print(f"wrote {path}")

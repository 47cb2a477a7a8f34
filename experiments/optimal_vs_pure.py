"""Optimal bracketing vs the pure modes on random chains; writes reports/optimal_vs_pure.{md,csv,png}.

Usage: python experiments/optimal_vs_pure.py [--out reports] [--quick]
"""

import argparse
import sys

from chainopt.experiments.optimal_vs_pure import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--quick", action="store_true", help="a handful of chains per family, a few seconds")
    args = parser.parse_args()
    result = main(args.out, args.quick, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(f"largest saving of the optimum over the better pure mode: {result['max_saving']:,.3g}x "
          f"({result['max_saving_family']})")
    for family, median in result["median_saving"].items():
        share = result["pure_optimal_share"][family]
        print(f"{family:>12}: median saving {median:,.3g}x, a pure mode optimal on {100 * share:.0f}%")
    for path in result["paths"]:
        print(f"wrote {path}")

"""Test the notes' claim "if n_1 = 1, FWD is optimal" (and its mirror); writes reports/notes_claim.{md,csv,png}.

Usage: python experiments/notes_claim.py [--out reports] [--quick]
"""

import argparse
import sys

from chainopt.experiments.notes_claim import CLAIMS, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--quick", action="store_true", help="a few chains per case, a few seconds")
    args = parser.parse_args()
    result = main(args.out, args.quick, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    for (mode, case), share in result["holds"].items():
        print(f"{CLAIMS[mode]}, {case}: holds on {100 * share:.1f}% of random chains")
    seed = result["seed_example"]
    print(f"notes' example ({seed['dims']}): FWD {seed['pure_cost']}, optimum {seed['optimal_plan']} = "
          f"{seed['optimal_cost']}")
    for path in result["paths"]:
        print(f"wrote {path}")

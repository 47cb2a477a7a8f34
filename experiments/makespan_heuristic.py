"""Compare the makespan DP (Märtens-Naumann heuristic) with the exact branch and bound on short chains.

Writes reports/makespan_heuristic.{md,csv,png}.

Usage: python experiments/makespan_heuristic.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("makespan_heuristic", __doc__))

"""How much the optimal bracketing saves over the pure modes on random chain families.

Writes reports/optimal_vs_pure.{md,csv,png}.

Usage: python experiments/optimal_vs_pure.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("optimal_vs_pure", __doc__))

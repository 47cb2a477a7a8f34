"""Benchmark the exact optimal-order DP against numpy's helper and a textbook DP.

Writes reports/dp_scaling.{md,csv,png}.

Usage: python experiments/dp_scaling.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("dp_scaling", __doc__))

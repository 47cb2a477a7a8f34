"""Benchmark exact orders for long chains: Hu-Shing, the DP, numpy's helper and opt_einsum's greedy.

Writes reports/long_chains.{md,csv,png}.

Usage: python experiments/long_chains.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("long_chains", __doc__))

"""Measure two machines on Dask: predicted makespan speed-ups beside sync vs threads times, and Dask's overhead.

Writes reports/parallel.{md,csv,png} and reports/parallel_rounds.csv. Needs the Dask extra.

Usage: python experiments/parallel.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("parallel", __doc__))

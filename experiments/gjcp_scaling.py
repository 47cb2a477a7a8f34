"""Benchmark the generalized Jacobian chain DP: time against the number of factors, up to 2000.

Writes reports/gjcp_scaling.{md,csv,png}.

Usage: python experiments/gjcp_scaling.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("gjcp_scaling", __doc__))

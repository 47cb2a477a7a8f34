"""Time every bracketing of small chains against its multiply-adds; writes reports/predicted_vs_measured.{md,csv,png}.

Usage: python experiments/predicted_vs_measured.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("predicted_vs_measured", __doc__))

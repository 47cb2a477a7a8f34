"""The FWD-vs-BWD crossover experiment (same as 'chainopt crossover'); writes reports/crossover*.

Usage: python experiments/crossover.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("crossover", __doc__))

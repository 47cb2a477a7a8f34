"""Execute fwd, bwd, optimal and multi_dot on six chain shapes; writes reports/bench.{md,csv}.

Usage: python experiments/bench_shapes.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("bench", __doc__))

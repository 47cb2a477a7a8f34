"""Test the notes' claim "if n_1 = 1, FWD is optimal" (and its mirror); writes reports/notes_claim.{md,csv,png}.

Usage: python experiments/notes_claim.py [--out reports] [--quick] [--seed 0]
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("notes_claim", __doc__))

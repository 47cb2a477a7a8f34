"""A network's full Jacobian, chainopt vs JAX and PyTorch on one core; writes reports/jacobian_peers.{md,csv,png}.

Usage (OpenBLAS's kernel selection unset in this command only):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python experiments/jacobian_peers.py \
        [--out reports] [--quick] [--seed 0]

JAX and PyTorch are optional (pip install "chainopt[peers]"); a missing one is skipped with a note.
"""

import sys

from chainopt.experiments import run_script

if __name__ == "__main__":
    sys.exit(run_script("jacobian_peers", __doc__))

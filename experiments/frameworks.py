"""chainopt.jax / chainopt.torch against jacfwd and jacrev; writes reports/frameworks.{md,csv,png}.

Usage: python experiments/frameworks.py [--out reports] [--quick] [--seed 0]

Runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this command only), so
numpy's OpenBLAS uses its current kernels; the process pins itself to one core.
"""

import os
import sys

if __name__ == "__main__":
    if any(name in os.environ for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    from chainopt.experiments import run_script

    sys.exit(run_script("frameworks", __doc__))

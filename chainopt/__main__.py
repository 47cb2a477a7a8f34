"""``python -m chainopt`` runs the command-line interface."""

import sys

from chainopt.cli import main

sys.exit(main())

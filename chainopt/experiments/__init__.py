"""Experiments: each module has a seeded ``main(out_dir, quick=False)``.

Each writes its CSV, PNG figure(s) and a markdown reading into ``out_dir``
and returns a small summary dict. The scripts in the repository's top-level
``experiments/`` folder and the ``chainopt report`` command are thin shells
over these functions.
"""

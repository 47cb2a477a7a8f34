"""Experiments: each module has a seeded ``main(out_dir, quick=False, *, progress=None)``.

Each writes its CSV, PNG figure(s) and a markdown page into ``out_dir`` and
returns a dict with at least ``paths`` (the files written) and ``reading``
(two or three sentences whose numbers come from the run). The scripts in the
repository's top-level ``experiments/`` folder and the ``chainopt report``
and ``chainopt crossover`` commands are thin shells over these functions.
"""

from __future__ import annotations

import importlib

__all__ = ["EXPERIMENTS", "CAPTIONS", "load", "run_script"]

#: name -> (module, title, markdown page), in the order ``chainopt report`` runs and lists them.
EXPERIMENTS = {
    "crossover": ("chainopt.experiments.crossover", "FWD vs BWD crossover", "crossover.md"),
    "optimal_vs_pure": (
        "chainopt.experiments.optimal_vs_pure", "Optimal bracketing vs the pure modes", "optimal_vs_pure.md"
    ),
    "predicted_vs_measured": (
        "chainopt.experiments.predicted_vs_measured", "Predicted multiply-adds vs measured time",
        "predicted_vs_measured.md",
    ),
    "notes_claim": (
        "chainopt.experiments.notes_claim", "The notes' claim: n_1 = 1 makes FWD optimal", "notes_claim.md",
    ),
    "bench": ("chainopt.experiments.bench_shapes", "Executing the orders on real Jacobians", "bench.md"),
    "dp_scaling": ("chainopt.experiments.dp_scaling", "The exact DP: time vs chain length", "dp_scaling.md"),
    "long_chains": ("chainopt.experiments.long_chains", "Exact orders for long chains (Hu-Shing)", "long_chains.md"),
    "gjcp_scaling": (
        "chainopt.experiments.gjcp_scaling", "The generalized Jacobian chain DP: time vs q", "gjcp_scaling.md"
    ),
    "makespan_heuristic": (
        "chainopt.experiments.makespan_heuristic", "The makespan DP against the exact optimum",
        "makespan_heuristic.md",
    ),
    "parallel": ("chainopt.experiments.parallel", "Two machines on Dask: predicted vs measured", "parallel.md"),
    "jacobian_peers": (
        "chainopt.experiments.jacobian_peers", "A network's Jacobian: chainopt vs JAX and PyTorch",
        "jacobian_peers.md",
    ),
    "frameworks": ("chainopt.experiments.frameworks", "chainopt inside JAX and PyTorch", "frameworks.md"),
}

#: What each figure shows (the numbers are in each experiment's reading).
CAPTIONS = {
    "crossover_sweep.png": (
        "FWD, BWD and the optimum along n_1 at a fixed n_N, for three interiors: lines are the predicted "
        "multiply-adds turned into seconds at the rate the measured points ran at, open markers the measured "
        "medians; the solid vertical line is the predicted crossover, the dotted one the measured. At the "
        "smallest n_1 the measured times sit above the lines: there the products take microseconds and "
        "a fixed cost per call, which multiply-adds do not count, dominates."
    ),
    "crossover_heatmap.png": (
        "log2(FWD cost / BWD cost) over the (n_1, n_N) grid, one panel per interior: blue where forward "
        "mode is cheaper, red where reverse mode is (one colour scale for all panels); the black line is the "
        "exact crossover. A uniform or "
        "symmetric interior puts it on the diagonal; widening and narrowing interiors bend it."
    ),
    "crossover_saving.png": (
        "How much the optimal bracketing saves over the better pure mode on the same grid (log colour "
        "scale shared by the panels, 1x = a pure mode is optimal); the largest saving per interior is labelled."
    ),
    "optimal_vs_pure.png": (
        "One box per chain family: the better pure mode's cost over the optimal cost on seeded random "
        "chains (log scale), one dot per chain coloured by its length."
    ),
    "predicted_vs_measured.png": (
        "Every bracketing of small chains and the fwd/bwd/optimal plans of longer ones, executed and "
        "timed: median seconds against predicted multiply-adds (log-log), the fitted line, and ringed "
        "the plans that ran slower than a plan with more multiply-adds."
    ),
    "notes_claim.png": (
        "How often the notes' claim holds on random chains: FWD optimal when n_1 = 1 (blue), BWD optimal "
        "when n_N = 1 (red), with every other dim >= 2 (solid) or another dim equal to 1 (hatched)."
    ),
    "dp_scaling.png": (
        "Seconds to find the exact optimal order against the number of factors (log-log), for chainopt's "
        "vectorised DP, numpy's multi_dot helper and a textbook pure-Python DP, on the same random chains."
    ),
    "long_chains.png": (
        "Seconds to find the exact optimal order against the number of factors (log-log), 10 to 10^6 factors: "
        "Hu-Shing's O(n log n) plan, chainopt's O(n^3) DP, numpy's helper and opt_einsum's greedy path search "
        "(labelled with its order's cost over the optimum), on the same random chains; stars are the targets."
    ),
    "gjcp_scaling.png": (
        "Seconds for the generalized Jacobian chain DP (tangents, adjoints, preaccumulation, products) against "
        "the number of factors q (log-log), on random matrix-free chains and on chains alternating them with "
        "diagonal factors; the star is the 0.5 s target at q = 500."
    ),
    "makespan_heuristic.png": (
        "The makespan DP's makespan over the exact optimum (branch and bound) on random short chains, one box "
        "per chain length q (every machine count 1 < m < q pooled), one dot per chain and machine count; "
        "matrix-free factors left, formed Jacobians right. 1 means the heuristic was optimal."
    ),
    "parallel.png": (
        "Per chain, the speed-up the two-machine makespan plan predicts over the sequential optimum (multiply-adds) "
        "beside the measured one (Dask sync with one BLAS thread over Dask threads with two workers and one BLAS "
        "thread per task; median of interleaved rounds, bars their range)."
    ),
    "jacobian_peers.png": (
        "The full Jacobian of six tanh MLPs on one core: median milliseconds (log scale, IQR bars) of "
        "chainopt's Network.jacobian (optimal plan), jax.jacfwd/jacrev (jit) and torch.func.jacfwd/jacrev."
    ),
    "frameworks.png": (
        "Inside each framework, the better of its jacfwd and jacrev over chainopt's time for the full Jacobian "
        "(warm medians, log scale; above 1: chainopt faster), per shape."
    ),
}


def load(name: str):
    """The module of experiment ``name``; an unknown name lists the valid ones."""
    from chainopt.errors import ChainoptError

    if name not in EXPERIMENTS:
        raise ChainoptError(f"unknown experiment {name!r}; choose from: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name][0])


def run_script(name: str, description: str | None = None, argv=None) -> int:
    """The command line of ``experiments/NAME.py``: ``[--out DIR] [--quick] [--seed S]``.

    Runs the experiment with progress lines on stderr, then prints its reading
    and the files it wrote. Returns the exit status (2 for bad input, as the
    ``chainopt`` command does).
    """
    import argparse
    import sys

    from chainopt.errors import ChainoptError

    module = load(name)
    parser = argparse.ArgumentParser(
        prog=f"experiments/{name}.py", description=(description or module.__doc__ or "").strip().splitlines()[0]
    )
    parser.add_argument("--out", default="reports", help="output folder (default: reports)")
    parser.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the experiment (default: 0)")
    args = parser.parse_args(argv)
    try:
        from chainopt.execution.workloads import check_seed

        check_seed(args.seed)  # refused before any work, as the chainopt command does
        if not args.out.strip():
            raise ChainoptError(f"--out {args.out!r} names no folder; give one, e.g. --out reports")
        result = module.main(
            args.out, args.quick, seed=args.seed, progress=lambda msg: print(msg, file=sys.stderr, flush=True)
        )
    except ChainoptError as exc:
        print(f"chainopt: error: {exc} ({parser.prog})", file=sys.stderr)
        return 2
    print(result["reading"])
    for path in result["paths"]:
        print(f"wrote {path}")
    return 0

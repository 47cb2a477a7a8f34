"""``chainopt bench``: execute and time every order on the same real Jacobians.

A thin shell over :func:`chainopt.benchmark`. Progress goes to stderr (when
stderr is a terminal and the run looks long, or with ``--progress always``);
timing-spread warnings become one ``note:`` line each on stderr; the table
goes to stdout.
"""

from __future__ import annotations

import re
import sys
import warnings

from chainopt.cli.common import DIMS_HELP, add_format_option, parse_dims
from chainopt.errors import ChainoptError
from chainopt.execution.budget import parse_bytes

__all__ = ["add_parser", "run_bench", "parse_bytes"]

#: Estimated seconds of work above which ``--progress auto`` reports progress.
LONG_RUN_SECONDS = 2.0

def _strategy_list(text: str) -> list[str]:
    return [name for name in re.split(r"[,\s]+", text) if name]


def add_parser(subparsers) -> None:
    """Add the ``bench`` subcommand."""
    from chainopt.bench.harness import DEFAULT_STRATEGIES, LAYER_KINDS
    from chainopt.core.strategies import STRATEGIES
    from chainopt.execution import BASELINES, MULTI_DOT_MAX_FACTORS

    p = subparsers.add_parser(
        "bench",
        help="execute fwd, bwd, optimal and numpy's multi_dot on the same Jacobians and time them",
        description=(
            "Build real Jacobians for the chain, check that every order gives the same product, then time "
            "each order (warm-up, then repeats interleaved across strategies) and print the median with its interval "
            "(min and max in csv/json), "
            "GFLOP/s and the fraction of this machine's peak matmul rate. " + DIMS_HELP
        ),
        epilog=(
            "layers: 'random' = normal entries with variance 1/n_k on exactly these dims; "
            "'mlp' = the Jacobians of a tanh MLP with these widths, Dense and activation as separate "
            "layers, so the chain executed is n_1, n_2, n_2, ..., n_(N-1), n_(N-1), n_N; "
            "'resnet' = residual blocks x + A^T tanh(A x), which needs all dims equal. "
            "example: chainopt bench 100 1000 10 1000 100"
        ),
    )
    p.add_argument("dims", nargs="+", metavar="DIM", help="the chain's dims, input first")
    p.add_argument(
        "--layers", "-l", choices=LAYER_KINDS, default="random", help="where the Jacobians come from (default: random)"
    )
    p.add_argument("--repeats", "-r", type=int, default=7, metavar="N", help="timed repeats per strategy (default: 7)")
    p.add_argument("--warmup", type=int, default=1, metavar="N", help="untimed warm-up rounds (default: 1)")
    p.add_argument(
        "--strategies", "-s", type=_strategy_list, default=None, metavar="A,B,...",
        help=f"comma-separated, from {', '.join([*STRATEGIES, *BASELINES])} (default: {','.join(DEFAULT_STRATEGIES)}; "
        f"multi_dot only up to {MULTI_DOT_MAX_FACTORS} factors)",
    )
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="(default: float64)")
    p.add_argument("--seed", type=int, default=0, help="seeds the Jacobians (default: 0)")
    p.add_argument("--peak-size", type=int, default=2000, metavar="N",
                   help="side of the square product (in --dtype) measuring peak GFLOP/s; 0 skips it (default: 2000)")
    p.add_argument("--budget", default=None, metavar="BYTES",
                   help="memory allowed, e.g. 2G (default: half of the available memory)")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress lines on stderr (auto: on a terminal, for runs that look long)")
    add_format_option(p)
    p.set_defaults(run=run_bench)


#: The most repeats or warm-up rounds bench accepts: medians settle long before this, and more only waits.
MAX_REPEATS = 1000


def _looks_long(dims, repeats: int, peak_size: int) -> bool:
    """A rough guess, before any work: fwd + bwd multiply-adds at 10 GFLOP/s."""
    from chainopt.core.chain import bwd_cost, fwd_cost

    work = (fwd_cost(dims) + bwd_cost(dims)) * (repeats + 3) + peak_size**3 * 2 * (repeats + 3)  # peak: before, after
    return 2 * work / 10e9 > LONG_RUN_SECONDS


def run_bench(args) -> int:
    """``chainopt bench``: time the strategies on the chain and print the result; returns the exit code."""
    from chainopt.bench.harness import DEFAULT_STRATEGIES, TimingSpreadWarning, benchmark, network_dims
    from chainopt.bench.workloads import check_strategies
    from chainopt.core.chain import Chain
    from chainopt.execution import MULTI_DOT_MAX_FACTORS
    from chainopt.execution.workloads import check_seed

    dims = Chain(parse_dims(args.dims)).dims
    if not (1 <= args.repeats <= MAX_REPEATS and 0 <= args.warmup <= MAX_REPEATS and args.peak_size >= 0):
        raise ChainoptError(
            f"--repeats {args.repeats}, --warmup {args.warmup}, --peak-size {args.peak_size}: "
            f"need repeats >= 1 and warmup >= 0 (each at most {MAX_REPEATS:,}), peak-size >= 0"
        )
    budget = None if args.budget is None else parse_bytes(args.budget)
    check_seed(args.seed, library=False)  # every argument is refused before any work (the peak rate is measured first)
    strategies = args.strategies
    if strategies is None:
        strategies = list(DEFAULT_STRATEGIES)
        factors = len(network_dims(dims, args.layers)) - 1
        if factors > MULTI_DOT_MAX_FACTORS and "multi_dot" in strategies:
            strategies.remove("multi_dot")
            print(
                f"chainopt bench: note: multi_dot left out, {factors:,} factors > {MULTI_DOT_MAX_FACTORS} "
                "(it re-searches the order in pure Python on every call)",
                file=sys.stderr,
            )
    check_strategies(strategies)
    show = args.progress == "always" or (
        args.progress == "auto" and sys.stderr.isatty() and _looks_long(dims, args.repeats, args.peak_size)
    )

    def progress(message: str) -> None:
        print(f"chainopt bench: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TimingSpreadWarning)
        result = benchmark(
            dims,
            strategies=strategies,
            repeats=args.repeats,
            warmup=args.warmup,
            seed=args.seed,
            dtype=args.dtype,
            layers=args.layers,
            peak_size=args.peak_size or None,
            budget=budget,
            progress=progress if show else None,
        )
    print(result.format(args.format))
    for w in caught:
        if issubclass(w.category, TimingSpreadWarning):
            print(f"chainopt bench: note: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return 0

"""Execute fwd, bwd, optimal and numpy's multi_dot on six chain shapes; writes reports/bench.{md,csv}.

Six shapes, each with random Jacobians on exactly its dims and with the
Jacobians of a real tanh MLP whose widths are the dims (dense and activation
as separate layers, so the chain executed is ``n_1, n_2, n_2, ..., n_N``).
For every case :func:`chainopt.benchmark` checks that all orders agree and
times them (warm-up, then repeats interleaved across strategies); a second
interleaved run times :func:`chainopt.execute` against the bare sequence of
``@`` calls of the same optimal plan, to measure the executor's overhead.
The peak matmul rate is measured once at the start of the run.

Targets (computed, not asserted): ``optimal``'s median within 5% of the
fastest of fwd, bwd and multi_dot on every case; executor overhead under 5%.
"""

from __future__ import annotations

import statistics
import warnings

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.bench.harness import (
    TimingSpreadWarning,
    autorange,
    benchmark,
    build_jacobians,
    peak_matmul_rate,
    time_interleaved,
)
from chainopt.bench.intervals import (
    INTERVAL_METHOD,
    NO_DIFFERENCE,
    format_interval,
    format_ratio,
    ratio_interval,
    target_status,
)
from chainopt.bench.overhead import overhead_section, public_api_overhead
from chainopt.bench.result import PeakRate
from chainopt.core.strategies import plan as make_plan
from chainopt.errors import ResultMismatchError
from chainopt.execution import execute
from chainopt.execution.compiled import compile_products
from chainopt.experiments._io import prepare, write_csv, write_markdown
from chainopt.report.render import markdown_table

__all__ = ["main", "run", "bare_function", "SHAPES", "LAYERS", "OPTIMAL_SLACK", "OVERHEAD_LIMIT"]

#: The issue's six chains, input first.
SHAPES = {
    "hourglass": (1000, 100, 10, 100, 1000),
    "funnel": (1000, 800, 600, 400, 200, 1),
    "expanding": (1, 200, 400, 600, 800, 1000),
    "uniform": (500, 500, 500, 500, 500, 500),
    "mlp": (784, 512, 256, 128, 64, 10),
    "bottleneck": (100, 1000, 10, 1000, 100),
}
LAYERS = ("random", "mlp")

#: Target: optimal's median at most this much above the fastest of fwd, bwd and multi_dot.
OPTIMAL_SLACK = 0.05
#: Target: executor overhead over the bare ``@`` calls below this.
OVERHEAD_LIMIT = 0.05

PURE = ("fwd", "bwd")
RIVALS = ("fwd", "bwd", "multi_dot")


def bare_function(plan):
    """A function running ``plan``'s products as a bare sequence of ``@`` statements.

    The code is generated from ``plan.splits`` (``t0 = m[1] @ m[0]`` ...) by
    :func:`chainopt.execution.compiled.compile_products`, so it is what a
    person would write by hand for this one plan: no loop, no dict, no
    validation; each intermediate is deleted once consumed, as the executor
    does.

    Examples
    --------
    >>> import chainopt as co
    >>> f = bare_function(co.plan([2, 3, 4, 5], "bwd"))
    >>> f.source.splitlines()[1:]
    ['    t0 = m[2] @ m[1]', '    t1 = t0 @ m[0]', '    del t0', '    return t1']
    """
    return compile_products(plan)


def _overhead(dims, layers, *, seed, repeats, min_time):
    """Median seconds of bare ``@`` calls, ``execute`` and ``execute(check_finite=True)``, interleaved."""
    mats, _ = build_jacobians(dims, layers, seed=seed)
    p = make_plan([mats[0].shape[1], *(a.shape[0] for a in mats)], "optimal")
    bare = bare_function(p)
    budget = 2**62  # the benchmark already checked memory; keep /proc/meminfo out of the timing
    funcs = {
        "bare": lambda: bare(mats),
        "execute": lambda: execute(p, mats, check_finite=False, budget=budget),
        "execute_checked": lambda: execute(p, mats, budget=budget),
    }
    if not np.array_equal(funcs["bare"](), funcs["execute"]()):
        raise ResultMismatchError(
            f"the bare @ calls and execute differ for {p}: the same products in the same order must agree exactly"
        )
    return time_interleaved(funcs, repeats=repeats, warmup=1, number=autorange(funcs, min_time))


def run(shapes=SHAPES, layers=LAYERS, *, repeats=7, overhead_repeats=21, peak_size=2000, seed=0,
        scale=1, min_time=0.05, progress=None):
    """Benchmark every shape with every kind of layers.

    Returns ``(rows, cases, peaks, spread)``: ``rows`` one dict per
    (case, strategy) from the harness's summary, ``cases`` one dict per case
    with the derived figures and targets, ``peaks`` the :class:`PeakRate`
    used (the higher one), measured at the start and at the end, and
    ``spread`` one line per case whose repeats spread over 4x.
    ``scale`` divides every dim (quick mode); ``min_time`` is the least
    seconds of one measurement (cheap orders are called several times).
    """
    say = progress or (lambda message: None)
    say(f"bench: measuring the peak matmul rate ({peak_size} x {peak_size} float64)")
    peak_start = peak_matmul_rate(peak_size, repeats=repeats)
    rows, cases, spread = [], [], []
    for shape, full_dims in shapes.items():
        dims = tuple(max(1, d // scale) for d in full_dims)
        for kind in layers:
            say(f"bench: {shape} {kind} {dims}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TimingSpreadWarning)
                res = benchmark(dims, layers=kind, repeats=repeats, warmup=1, seed=seed, peak_size=None,
                                min_time=min_time)
            flagged = {str(w.message).split(":")[0] for w in caught if issubclass(w.category, TimingSpreadWarning)}
            if flagged:
                spread.append(f"{shape}/{kind}: " + ", ".join(
                    f"{n} {res.summary.set_index('strategy').loc[n, 'spread']:.1f}x" for n in res.summary["strategy"]
                    if n in flagged))
            over_times = _overhead(dims, kind, seed=seed, repeats=overhead_repeats, min_time=min_time / 2)
            over = {name: statistics.median(ts) for name, ts in over_times.items()}
            s = res.summary.set_index("strategy")
            med = s["median_s"]
            times = res.times.groupby("strategy", sort=False)["seconds"].apply(list).to_dict()
            better = min(PURE, key=lambda n: (s.loc[n, "madds"], med[n]))  # better pure mode by the cost model
            fastest_rival = min(RIVALS, key=lambda n: med[n])
            fastest = med.idxmin()
            fewest = int(s["madds"].min())
            fewest_name = min(s.index, key=lambda n: (s.loc[n, "madds"], med[n]))
            speedup_ci = ratio_interval(times[better], times["optimal"])
            rival_ci = ratio_interval(times["optimal"], times[fastest_rival])
            beat_ci = ratio_interval(times[fewest_name], times[fastest])
            overhead = over["execute"] / over["bare"] - 1
            overhead_ci = ratio_interval(over_times["execute"], over_times["bare"])
            checked = over["execute_checked"] / over["bare"] - 1
            optimal_target = target_status(rival_ci[0], rival_ci[1], 1 + OPTIMAL_SLACK, at_least=False)
            overhead_target = target_status(*overhead_ci, 1 + OVERHEAD_LIMIT, at_least=False)
            case = {
                "shape": shape,
                "layers": kind,
                "chain": ",".join(map(str, res.chain.dims)),
                "better_pure": better,
                "predicted_speedup": int(s.loc[better, "madds"]) / int(s.loc["optimal", "madds"]),
                "measured_speedup": med[better] / med["optimal"],
                "measured_speedup_low": speedup_ci[0],
                "measured_speedup_high": speedup_ci[1],
                "optimal_vs_fastest_rival": med["optimal"] / med[fastest_rival] - 1,
                "optimal_vs_fastest_rival_low": rival_ci[0] - 1,
                "optimal_vs_fastest_rival_high": rival_ci[1] - 1,
                "fastest_rival": fastest_rival,
                "multi_dot_vs_optimal": med["multi_dot"] / med["optimal"],
                "multi_dot_vs_optimal_low": ratio_interval(times["multi_dot"], times["optimal"])[0],
                "multi_dot_vs_optimal_high": ratio_interval(times["multi_dot"], times["optimal"])[1],
                "executor_overhead": overhead,
                "executor_overhead_low": overhead_ci[0] - 1,
                "executor_overhead_high": overhead_ci[1] - 1,
                "executor_overhead_checked": checked,
                "fastest": fastest,
                "fastest_verdict": s.loc[fastest, "vs_fastest_verdict"],
                "fastest_has_fewest_madds": int(s.loc[fastest, "madds"]) == fewest,
                # a claim that more multiply-adds ran faster needs an interval above 1
                "fastest_beat_fewest_measurably": int(s.loc[fastest, "madds"]) != fewest and beat_ci[0] > 1,
                # a target is met when the whole interval is on its side, missed when the whole is beyond it
                "optimal_target_met": optimal_target == "met",
                "optimal_target_missed": optimal_target == "missed",
                "overhead_target_met": overhead_target == "met",
                "overhead_target_missed": overhead_target == "missed",
            }
            cases.append(case)
            for r in res.summary.to_dict("records"):
                rows.append({"shape": shape, "layers": kind, "chain": case["chain"], **r,
                             "executor_overhead": overhead, "executor_overhead_checked": checked})
    say("bench: measuring the peak matmul rate again")
    peak_end = peak_matmul_rate(peak_size, repeats=repeats)
    peak = PeakRate.from_seconds(peak_size, peak_start.seconds, peak_end.seconds, dtype=peak_start.dtype)
    for r in rows:
        r["peak_fraction"] = r["gflops"] / peak.gflops
        r["peak_fraction_low"] = r["gflops_low"] / peak.gflops
        r["peak_fraction_high"] = r["gflops_high"] / peak.gflops
        r["above_peak"] = r["gflops"] > peak.gflops
    return rows, cases, (peak, peak_start, peak_end), spread


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _faster_or_slower(speedup: float, low: float, high: float, other: str) -> str:
    """'ran 2.50x faster [2.31, 2.70] than bwd', or 'slower' (inverted); no winner when the interval holds 1.

    Examples
    --------
    >>> _faster_or_slower(0.5, 0.4, 0.8, "bwd")
    'ran 2.00x slower [1.25, 2.50] than bwd'
    >>> _faster_or_slower(1.1, 0.9, 1.2, "bwd")
    'showed no measurable difference from bwd (1.10x [0.90, 1.20])'
    """
    if not low <= 1 <= high and low == low:
        if speedup >= 1:
            return f"ran {format_ratio(speedup, low, high).replace(' ', 'x faster ', 1)} than {other}"
        return f"ran {format_ratio(1 / speedup, 1 / high, 1 / low).replace(' ', 'x slower ', 1)} than {other}"
    return f"showed {NO_DIFFERENCE} from {other} ({speedup:.2f}x {format_interval(low, high, '.2f')})"


def _ratio_cell(x: float, low: float, high: float, *, offset: float = 0.0, pct: bool = False) -> str:
    """A ratio (or ratio - 1, as a percentage) with its interval, and the verdict when it holds 1."""
    text = (f"{_pct(x)} {format_interval(low, high, '+.1%')}" if pct
            else format_ratio(x, low, high).replace(" ", "x ", 1))
    return text + ("" if not low + offset <= 1 <= high + offset else f" ({NO_DIFFERENCE})")


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None):
    """Run the benchmark and write ``bench.md`` and ``bench.csv`` into ``out_dir``.

    ``quick`` divides every dim by 10 and uses few repeats and a small peak
    product: a smoke test of a few seconds, not a measurement.

    Returns a dict: ``paths``, ``reading`` (sentences with the run's numbers),
    ``cases`` (one dict per case) and ``targets`` (met counts).
    """
    import pandas as pd

    out = prepare(out_dir)
    info = machine_info()
    if quick:
        rows, cases, peaks, spread = run(repeats=6, overhead_repeats=6, peak_size=128, seed=seed, scale=10,
                                         min_time=0.002, progress=progress)
    else:
        rows, cases, peaks, spread = run(seed=seed, progress=progress)
    peak, peak_start, peak_end = peaks
    csv_path = write_csv(pd.DataFrame(rows), out / "bench.csv")
    (progress or (lambda msg: None))("bench: the one-call API against bare @ trees")
    api_shapes = {k: tuple(max(1, d // 10) for d in v) if quick else v for k, v in SHAPES.items()}
    api_rows = public_api_overhead(api_shapes, seconds=0.05 if quick else 4.0, min_rounds=3 if quick else 41, seed=seed)

    n = len(cases)
    opt_met = [c for c in cases if c["optimal_target_met"]]
    ovh_met = [c for c in cases if c["overhead_target_met"]]
    surprises = [c for c in cases if c["fastest_beat_fewest_measurably"]]
    unclear = [c for c in cases if not c["fastest_has_fewest_madds"] and not c["fastest_beat_fewest_measurably"]]
    by_case = {(r["shape"], r["layers"], r["strategy"]): r for r in rows}
    hg = [c for c in cases if c["shape"] in ("hourglass", "bottleneck") and c["layers"] == "random"]
    reading = (
        f"On {n} cases (6 shapes x random and MLP layers), the optimal order was within "
        f"{100 * OPTIMAL_SLACK:.0f}% of the fastest of fwd, bwd and multi_dot in {len(opt_met)} (the whole 95% "
        "interval); "
        + "; ".join(f"on {c['shape']} (random) it "
                    + _faster_or_slower(c["measured_speedup"], c["measured_speedup_low"], c["measured_speedup_high"],
                                        c["better_pure"])
                    + f" (predicted {c['predicted_speedup']:.2f}x faster)" for c in hg)
        + f". The executor's overhead over bare @ calls was under {100 * OVERHEAD_LIMIT:.0f}% in "
        f"{len(ovh_met)} of {n} cases (the whole interval; median "
        f"{_pct(statistics.median(c['executor_overhead'] for c in cases))}); "
        f"multi_dot ran the same order {min(c['multi_dot_vs_optimal'] for c in cases):.2f}-"
        f"{max(c['multi_dot_vs_optimal'] for c in cases):.2f}x the time of chainopt's @ executor."
    )

    case_table = [{
        "shape": c["shape"], "layers": c["layers"], "chain": c["chain"].replace(",", " "),
        "better pure": c["better_pure"],
        "predicted speed-up": f"{c['predicted_speedup']:.2f}x",
        "measured speed-up [95% CI]": _ratio_cell(c["measured_speedup"], c["measured_speedup_low"],
                                                  c["measured_speedup_high"]),
        "optimal vs fastest rival [95% CI]": _ratio_cell(
            c["optimal_vs_fastest_rival"], c["optimal_vs_fastest_rival_low"], c["optimal_vs_fastest_rival_high"],
            offset=1, pct=True) + f" ({c['fastest_rival']})",
        "multi_dot / optimal [95% CI]": _ratio_cell(c["multi_dot_vs_optimal"], c["multi_dot_vs_optimal_low"],
                                                    c["multi_dot_vs_optimal_high"]),
        "executor overhead [95% CI]": _ratio_cell(c["executor_overhead"], c["executor_overhead_low"],
                                                  c["executor_overhead_high"], offset=1, pct=True),
        "with check_finite": _pct(c["executor_overhead_checked"]),
        "fastest": c["fastest"] if c["fastest_verdict"] == "fastest" else
        f"none measurably ({c['fastest']} has the lowest median)",
    } for c in cases]
    full_table = [{
        "shape": r["shape"], "layers": r["layers"], "strategy": r["strategy"], "plan": r["plan"],
        "multiply-adds": f"{r['madds']:,}", "median ms": f"{1e3 * r['median_s']:.3f}",
        "95% CI ms": format_interval(r["median_low_s"], r["median_high_s"], ".3f", scale=1e3),
        "GFLOP/s [95% CI]": f"{r['gflops']:.1f} {format_interval(r['gflops_low'], r['gflops_high'], '.1f')}",
        "% peak [95% CI]": "above peak" if r["above_peak"] else
        f"{100 * r['peak_fraction']:.0f} "
        f"{format_interval(r['peak_fraction_low'], r['peak_fraction_high'], '.0f', 100)}",
        "x fastest [95% CI]": "1 (fastest)" if r["vs_fastest_verdict"] == "fastest" else
        f"1 ({r['vs_fastest_verdict']})" if r["vs_fastest_verdict"].startswith("lowest median") else
        format_ratio(r["vs_fastest"], r["vs_fastest_low"], r["vs_fastest_high"])
        + ("" if r["vs_fastest_verdict"] == "slower" else f" ({r['vs_fastest_verdict']})"),
        "max rel diff": f"{r['max_rel_diff']:.1e}",
    } for r in rows]

    def verdict(target, total):
        met = sum(c[f"{target}_target_met"] for c in cases)
        missed = sum(c[f"{target}_target_missed"] for c in cases)
        undecided = total - met - missed
        overall = "met" if met == total else "not met" if missed else "undecided"
        return (f"**{overall}** ({met} of {total} cases"
                + (f"; missed in {missed}" if missed else "")
                + (f"; undecided in {undecided}: the interval straddles the line" if undecided else "") + ")")

    missed_opt = [c for c in cases if not c["optimal_target_met"]]
    missed_ovh = [c for c in cases if not c["overhead_target_met"]]
    body = [
        f"- peak matmul rate: {peak.describe()}; '% peak' uses it"
        + ("" if not any(r["above_peak"] for r in rows) else
           "; **some strategies ran above it (the peak product was disturbed or too small to reach the "
           "machine's peak): their '% peak' reads 'above peak'**"),
        f"- intervals: {INTERVAL_METHOD}",
        f"- timing: every case {'6' if quick else '7'} repeats after 1 warm-up round, interleaved across "
        "strategies with the order rotated each round, each measurement right after an untimed call of "
        f"the same strategy and lasting at least {'0.002' if quick else '0.05'} s (cheap orders called several "
        "times per measurement, as timeit does), so no order is timed in caches another one evicted; "
        "executor overhead from a separate interleaved run of "
        f"{'6' if quick else '21'} repeats (medians); seed {seed}; float64"
        + ("; **quick mode: dims divided by 10, a smoke test, not a measurement**" if quick else ""),
        "",
        "## Reading",
        "",
        reading,
        "",
        "## Targets",
        "",
        f"- optimal's median within {100 * OPTIMAL_SLACK:.0f}% of the fastest of fwd, bwd and multi_dot: "
        + verdict("optimal", n)
        + ("" if not missed_opt else "; missed or undecided on " + ", ".join(
            f"{c['shape']}/{c['layers']} ("
            + _ratio_cell(c["optimal_vs_fastest_rival"], c["optimal_vs_fastest_rival_low"],
                          c["optimal_vs_fastest_rival_high"], offset=1, pct=True)
            + f" vs {c['fastest_rival']})" for c in missed_opt)),
        f"- executor overhead over the bare sequence of `@` calls under {100 * OVERHEAD_LIMIT:.0f}% "
        "(`execute(plan, mats, check_finite=False)`, what the harness times): " + verdict("overhead", n)
        + ("" if not missed_ovh else "; missed or undecided on " + ", ".join(
            f"{c['shape']}/{c['layers']} ("
            + _ratio_cell(c["executor_overhead"], c["executor_overhead_low"], c["executor_overhead_high"],
                          offset=1, pct=True) + ")" for c in missed_ovh)),
        "",
        "## Per case",
        "",
        "Speed-ups are the better pure mode (by multiply-adds) over optimal; 'optimal vs fastest rival' "
        "is optimal's median over the fastest of fwd, bwd and multi_dot, minus one (negative: optimal "
        "was faster). Overheads are execute's median over the bare `@` calls' median, minus one, "
        "without and with the finiteness check.",
        "",
        markdown_table(case_table),
        "",
        "## Where the fewest multiply-adds was not the fastest",
        "",
    ]
    if surprises:
        for c in surprises:
            f = by_case[(c["shape"], c["layers"], c["fastest"])]
            fewest = min((r for r in rows if r["shape"] == c["shape"] and r["layers"] == c["layers"]),
                         key=lambda r: (r["madds"], r["median_s"]))
            body.append(
                f"- {c['shape']}/{c['layers']}: {c['fastest']} ({f['madds']:,} multiply-adds, "
                f"{1e3 * f['median_s']:.3f} ms) beat {fewest['strategy']} ({fewest['madds']:,}, "
                f"{1e3 * fewest['median_s']:.3f} ms)"
            )
    else:
        body.append("- none measurably: in every case the fastest strategy had the fewest multiply-adds (ties "
                    "allowed), or its lead over the fewest was within the 95% interval of no difference.")
    for c in unclear:
        body.append(f"- {c['shape']}/{c['layers']}: {c['fastest']} had the lowest median but not the fewest "
                    f"multiply-adds; {NO_DIFFERENCE} from the fewest.")
    body += ["", *overhead_section(api_rows), "## Every strategy", "", markdown_table(full_table)]
    if spread:
        body += ["", "## Timing-spread warnings", "",
                 "Strategies whose slowest repeat was over 4x their fastest (timeit's rule): their medians "
                 "may be unreliable (other load on the machine, frequency scaling).", "",
                 *[f"- {w}" for w in spread]]
    md_path = write_markdown(
        out / "bench.md",
        "Executing the orders on real Jacobians: measured vs predicted",
        body,
        command="python experiments/bench_shapes.py" + (" --quick" if quick else ""),
        info=info,
    )
    return {
        "paths": [csv_path, md_path],
        "reading": reading,
        "cases": cases,
        "peak": peak,
        "targets": {"optimal": (len(opt_met), n), "overhead": (len(ovh_met), n)},
        "public_api": api_rows,
    }

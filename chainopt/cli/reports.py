"""``chainopt crossover`` and ``chainopt report``: run experiments, write reports/.

The experiments live in :mod:`chainopt.experiments`; this module is their
command-line shell: options, a progress bar on stderr, a one-screen summary,
and the ``reports/README.md`` index.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from chainopt.errors import ChainoptError

__all__ = ["add_parser", "Progress", "write_index"]


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, one line per update otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.label = ""

    def _line(self, message: str) -> str:
        width = 24
        filled = round(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.perf_counter() - self.start
        return f"[{bar}] {self.done}/{self.total} {elapsed:5.0f}s {message}"

    def __call__(self, message: str) -> None:
        """Redraw the progress line with ``message``."""
        line = self._line(message)
        if self.tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + line[: columns - 1].ljust(columns - 1))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def advance(self, message: str = "") -> None:
        """Count one more step done and redraw the line."""
        self.done += 1
        self(message)

    def close(self) -> None:
        """End the line on a terminal (no-op otherwise)."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _out_dir(path: str) -> Path:
    """The output folder, created (or refused) before any experiment runs."""
    from chainopt.experiments._io import prepare

    if not path.strip():
        raise ChainoptError(f"--out {path!r} names no folder; give one, e.g. --out reports")
    return prepare(path)


def _check_seed(seed: int) -> None:
    """Refuse a seed the experiments would refuse, before any of them runs."""
    from chainopt.execution.workloads import check_seed

    check_seed(seed, library=False)


def _only(text: str | None) -> list[str]:
    """The experiments ``--only`` names, in order; empty or repeated names are refused, naming them."""
    from chainopt.experiments import EXPERIMENTS, load

    if text is None:
        return list(EXPERIMENTS)
    names = [n.strip().lower() for n in text.split(",")]  # names are case-insensitive, as strategies are
    choose = f"choose from: {', '.join(EXPERIMENTS)}"
    if not any(names):
        raise ChainoptError(f"--only {text!r} names no experiment; {choose}")
    if "" in names:
        raise ChainoptError(f"--only {text!r} has an empty name (two commas in a row, or a trailing comma); {choose}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ChainoptError(f"--only {text!r} names {', '.join(repeated)} twice; name each experiment once")
    for name in names:
        load(name)  # an unknown name lists the valid ones
    return names


def add_parser(subparsers) -> None:
    """Add the ``crossover`` and ``report`` subcommands."""
    from chainopt.experiments import EXPERIMENTS

    p = subparsers.add_parser(
        "crossover",
        help="FWD-vs-BWD crossover experiment: figures, CSV and a reading",
        description=(
            "Sweep n_1 and n_N of chains n_1 -> interior -> n_N over powers of two for several interior "
            "shapes; locate where forward mode stops beating reverse mode (predicted exactly, and "
            "measured on random Jacobians), and where the optimal bracketing beats both."
        ),
        epilog="example: chainopt crossover --quick --out /tmp/crossover",
    )
    p.add_argument("--out", default="reports", help="output folder (default: reports)")
    p.add_argument("--quick", action="store_true", help="a small grid, a few seconds")
    p.add_argument(
        "--measure", action=__import__("argparse").BooleanOptionalAction, default=True,
        help="time FWD/BWD/optimal on real Jacobians along n_1 (default: --measure)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random Jacobians (default 0)")
    p.set_defaults(run=run_crossover)

    p = subparsers.add_parser(
        "report",
        help="regenerate every report under reports/ and its README index",
        description=(
            "Run every experiment (" + ", ".join(EXPERIMENTS) + ") and write their CSV, PNG and markdown "
            "files plus README.md, an index that embeds every figure with its reading. The full run "
            "takes several minutes (the DP benchmark times numpy's helper up to 1000 factors)."
        ),
        epilog="example: chainopt report --quick --out /tmp/reports",
    )
    p.add_argument("--out", default="reports", help="output folder (default: reports)")
    p.add_argument("--quick", action="store_true", help="small versions of every experiment (seconds)")
    p.add_argument("--only", default=None, metavar="NAMES", help="comma-separated subset of: " + ", ".join(EXPERIMENTS))
    p.add_argument("--seed", type=int, default=0, help="seed of every experiment (default 0)")
    p.set_defaults(run=run_report)


def run_crossover(args) -> int:
    from chainopt.experiments import crossover

    _check_seed(args.seed)
    out = _out_dir(args.out)
    bar = Progress(crossover.progress_steps(args.quick, args.measure))
    started = []

    def progress(message: str) -> None:  # each message starts a step, so it ends the one before
        if started:
            bar.advance(message)
        else:
            bar(message)
        started.append(message)

    try:
        result = crossover.main(out, args.quick, measure_time=args.measure, seed=args.seed, progress=progress)
        bar.advance("crossover: done")
    finally:
        bar.close()
    from chainopt.report.render import Column, Document, Table, render

    n_out = result["n_out"]
    rows = []
    savings = result["predicted"].groupby("interior")["saving"].max()
    for name, c in result["crossovers"].items():
        measured = c["measured_interval"].describe()
        predicted = "FWD always wins" if c["predicted"] is None else f"{float(c['predicted']):,.1f}"
        rows.append({"interior": name, "widths": " -> ".join(map(str, c["interior"])), "predicted": predicted,
                     "measured": measured, "saving": f"{savings[name]:,.2f}x"})
    columns = (Column("interior"), Column("widths"), Column("predicted", f"predicted n_1* (n_N={n_out})", align=">"),
               Column("measured", "measured n_1* [bracket]", align=">"), Column("saving", "max saving", align=">"))
    print("FWD is cheaper than BWD when n_1 < n_1*; chains n_1 -> widths -> n_N")
    print(render(Document(header=[], tables=[Table(rows, columns)]), "text"))
    print(result["reading"])
    for path in result["paths"]:
        print(f"wrote {path}")
    return 0


def run_report(args) -> int:
    from chainopt.experiments import load

    names = _only(args.only)
    _check_seed(args.seed)
    modules = {name: load(name) for name in names}  # every argument is checked before any work
    out = _out_dir(args.out)
    progress = Progress(len(names))
    results = {}
    try:
        for name, module in modules.items():
            progress(f"{name}: starting")
            results[name] = module.main(out, args.quick, seed=args.seed, progress=progress)
            progress.advance(f"{name}: done")
    finally:
        progress.close()
    index = write_index(out, results, quick=args.quick)
    for name, result in results.items():
        print(f"{name}: {result['reading']}")
        print()
    print(f"wrote {len(sum((r['paths'] for r in results.values()), []))} files and {index}")
    return 0


def _sections(index: Path) -> dict[str, list[str]]:
    """The ``## `` sections of an existing index, title -> body lines (empty if there is none)."""
    if not index.is_file():
        return {}
    sections: dict[str, list[str]] = {}
    body = None
    for line in index.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            body = sections.setdefault(line[3:].strip(), [])
        elif body is not None:
            body.append(line)
    return sections


def write_index(out_dir, results: dict, *, quick: bool = False) -> Path:
    """Write ``README.md`` in ``out_dir``: every experiment's figures and reading, and the machine.

    Experiments run before but not in ``results`` (``--only``) keep their
    section of the previous index as it was, if their markdown page is still
    in ``out_dir`` (each page names the commit and date it came from); a
    page without a previous section gets a link. The header says which
    experiments this run regenerated.
    """
    from chainopt.bench.environment import machine_lines
    from chainopt.experiments import CAPTIONS, EXPERIMENTS

    out = Path(out_dir)
    previous = _sections(out / "README.md")
    kept = [name for name in EXPERIMENTS if name not in results and (out / EXPERIMENTS[name][2]).exists()]
    lines = [
        "# chainopt reports",
        "",
        "Generated by `chainopt report" + (" --quick" if quick else "") + "` on this machine:",
        "",
        *machine_lines(),
        "",
        "Every figure below is embedded with what it shows; each section links its full page and data. "
        "Costs are exact multiply-adds; times are medians over interleaved repeats.",
        "",
    ]
    if kept:
        lines += [f"This run regenerated {', '.join(results) or 'nothing'}; the other sections are kept from the "
                  "previous index, and each page names the commit and date it came from.", ""]
    for name, (_, title, page_name) in EXPERIMENTS.items():
        result = results.get(name)
        page = out / page_name
        if result is None:
            if page.exists():
                lines += [f"## {title}"] + previous.get(
                    title, ["", f"Not rerun this time; see [{page.name}]({page.name}).", ""])
            continue
        files = [Path(p) for p in result["paths"]]
        lines += [f"## {title}", "", result["reading"], ""]
        for p in files:
            if p.suffix == ".png":
                lines += [f"![{title}]({p.name})", "", CAPTIONS.get(p.name, ""), ""]
        lines += ["Files: " + ", ".join(f"[{p.name}]({p.name})" for p in files if p.suffix != ".png"), ""]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

"""What machine a measurement was taken on: for the header of every report.

Core-safe: imports numpy only, prints nothing.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = ["machine_info", "blas_info", "machine_lines", "source_commit"]


@cache  # the same for the whole process; reports ask many times
def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@cache  # the same for the whole process; reports ask many times
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> dict:
    """The BLAS numpy calls for ``@``, and its thread count where it can be read.

    Uses ``threadpoolctl`` when it is installed (it reports the live thread
    count). Several BLAS libraries may be loaded (scipy ships its own); the
    one inside numpy's package folder is the one ``@`` uses. Without
    threadpoolctl: numpy's build configuration (library name only).
    """
    import numpy as np

    try:
        from threadpoolctl import threadpool_info

        pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
        # wheels keep numpy's BLAS in a folder named like "numpy.libs" (scipy's in "scipy.libs")
        pools.sort(key=lambda pool: "numpy" not in os.path.basename(os.path.dirname(str(pool.get("filepath", "")))))
        if pools:
            pool = pools[0]
            return {
                "blas": f"{pool.get('internal_api')} {pool.get('version') or ''}".strip(),
                "blas_threads": pool.get("num_threads"),
            }
    except ImportError:
        pass
    name = "unknown"
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        name = f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
    except (TypeError, AttributeError):  # numpy < 1.26 has no mode="dicts"
        pass
    threads = None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            threads = int(os.environ[var])
            break
    return {"blas": name, "blas_threads": threads}


@cache  # the same for the whole process; reports ask many times
def source_commit() -> str:
    """The git commit of the chainopt source that is running, ``'+ changes'`` if it has uncommitted ones.

    Read from the repository the imported ``chainopt`` lives in (a checkout or
    an editable install); ``'unknown (not a git checkout)'`` for an installed
    copy or without git.

    Examples
    --------
    >>> isinstance(source_commit(), str)
    True
    """
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode or not (root / "chainopt").is_dir():
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "chainopt"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    return head.stdout.strip() + (" + uncommitted changes to chainopt/" if dirty else "")


def machine_info() -> dict:
    """A dict describing the machine, the software versions and the time (UTC).

    Examples
    --------
    >>> info = machine_info()
    >>> {"date", "cpu", "cores", "numpy", "blas", "blas_threads"} <= set(info)
    True
    """
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        "matplotlib": _version("matplotlib"),
        "chainopt": _version("chainopt"),
        "commit": source_commit(),
        **blas_info(),
    }


def machine_lines(info: dict | None = None) -> list[str]:
    """Markdown bullet lines for a report header."""
    info = machine_info() if info is None else info
    threads = info.get("blas_threads")
    return [
        f"- date: {info['date']}",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['os']}",
        f"- software: Python {info['python']}, numpy {info['numpy']}, pandas {info['pandas']}, "
        f"matplotlib {info['matplotlib']}, chainopt {info['chainopt']} (commit {info.get('commit', 'unknown')})",
        f"- BLAS: {info['blas']}" + (f", {threads} threads" if threads else ""),
    ]

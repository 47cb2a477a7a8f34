"""Writing an experiment's files: CSV, figures and a markdown page with the machine."""

from __future__ import annotations

from pathlib import Path

from chainopt.bench.environment import machine_lines

__all__ = ["prepare", "write_csv", "save_figure", "write_markdown"]


def prepare(out_dir) -> Path:
    """Create ``out_dir`` (and parents) and return it as a Path.

    Raises
    ------
    ChainoptError
        If it exists and is not a folder, or cannot be created.
    """
    from chainopt.errors import ChainoptError

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ChainoptError(f"output folder {str(out_dir)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChainoptError(f"cannot create the output folder {str(out_dir)!r}: {exc.strerror}") from None
    return out


def write_csv(df, path: Path) -> Path:
    """Write a DataFrame as CSV (exact ints stay exact; floats in full precision)."""
    from chainopt.report.render import to_csv

    Path(path).write_text(to_csv(df), encoding="utf-8")
    return path


def save_figure(fig, path: Path) -> Path:
    """Save a figure as PNG and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)  # every figure uses constrained layout: a second, "tight" pass is not needed
    plt.close(fig)
    return path


def write_markdown(path: Path, title: str, body: list[str], *, command: str, info: dict | None = None) -> Path:
    """A markdown page: title, machine block, how to regenerate, then ``body`` lines."""
    lines = [f"# {title}", "", *machine_lines(info), f"- regenerate: `{command}`", "", *body, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

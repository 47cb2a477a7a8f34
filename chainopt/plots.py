"""Figures. Each function takes an experiment's DataFrame and ``ax=None``.

A function creates a figure only when no Axes is given, returns the Axes and
never calls ``plt.show()``. FWD, BWD and optimal keep the same colours in
every figure (:data:`COLORS`).
"""

from __future__ import annotations

__all__ = ["COLORS", "MARKERS", "plot_dp_scaling"]

#: One colour per strategy or method, the same in every figure.
COLORS = {
    "fwd": "#1f77b4",  # blue
    "bwd": "#d62728",  # red
    "optimal": "#2ca02c",  # green
    "multi_dot": "#9467bd",  # purple
    "brute": "#7f7f7f",
    "chainopt": "#2ca02c",
    "numpy": "#9467bd",
    "textbook": "#ff7f0e",
}
MARKERS = {"fwd": "o", "bwd": "s", "optimal": "D", "multi_dot": "^", "chainopt": "D", "numpy": "^", "textbook": "o"}
LABELS = {
    "fwd": "FWD (forward mode)",
    "bwd": "BWD (reverse mode)",
    "optimal": "optimal bracketing",
    "multi_dot": "numpy multi_dot",
    "chainopt": "chainopt optimal (vectorised DP)",
    "numpy": "numpy multi_dot's DP helper",
    "textbook": "textbook DP, pure Python",
}


def _axes(ax, figsize=(6.4, 4.4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _integer_ticks(axis, values):
    """Label a log axis at the given values, as plain integers."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    axis.set_major_locator(FixedLocator(values))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(StrMethodFormatter("{x:.0f}"))


def plot_dp_scaling(df, ax=None):
    """Log-log seconds vs number of factors, one line per DP implementation."""
    ax = _axes(ax)
    for method, part in df.groupby("method", sort=False):
        part = part.sort_values("factors")
        ax.plot(
            part["factors"], part["seconds"], marker=MARKERS.get(method, "o"),
            color=COLORS.get(method), label=LABELS.get(method, method),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _integer_ticks(ax.xaxis, sorted(df["factors"].unique()))
    ax.set_xlabel("factors in the chain (N - 1)")
    ax.set_ylabel("seconds per optimal-order search (median)")
    ax.set_title("Exact matrix-chain DP: time vs chain length")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax

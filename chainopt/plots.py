"""Figures. Each function takes an experiment's DataFrame and ``ax=None``.

A function creates a figure only when no Axes is given, returns the Axes and
never calls ``plt.show()``. FWD, BWD and optimal keep the same colours in
every figure (:data:`COLORS`).
"""

from __future__ import annotations

__all__ = [
    "COLORS",
    "MARKERS",
    "LABELS",
    "plot_dp_scaling",
    "plot_optimal_vs_pure",
    "plot_notes_claim",
    "plot_crossover_sweep",
    "plot_crossover_heatmap",
    "plot_saving_heatmap",
    "plot_predicted_vs_measured",
]

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


def _ratio_ticks(axis, top: float, steps=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)):
    """Label a log axis of ratios >= 1 at 1x, 2x, 5x, 10x, ... (``steps``) up to ``top``."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ticks = [t for t in steps if t <= top]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_minor_locator(NullLocator())
    axis.set_ticklabels([f"{t:g}x" for t in ticks])


def plot_optimal_vs_pure(df, ax=None):
    """Box plot per family of the saving min(FWD, BWD) / optimal, one dot per chain coloured by length.

    ``df`` is :func:`chainopt.experiments.optimal_vs_pure.run`'s DataFrame
    (columns ``family``, ``factors``, ``saving``).
    """
    import numpy as np
    from matplotlib.colors import LogNorm

    ax = _axes(ax, figsize=(8, 4.8))
    families = list(dict.fromkeys(df["family"]))
    groups = [df.loc[df["family"] == f] for f in families]
    positions = np.arange(1, len(families) + 1)
    ax.boxplot(
        [g["saving"].to_numpy(float) for g in groups], positions=positions, widths=0.55, whis=(5, 95),
        showfliers=False, patch_artist=True, zorder=2,
        boxprops={"facecolor": "none", "edgecolor": COLORS["optimal"], "linewidth": 1.6},
        medianprops={"color": "black", "linewidth": 1.8},
        whiskerprops={"color": COLORS["optimal"]}, capprops={"color": COLORS["optimal"]},
    )
    rng = np.random.default_rng(0)  # jitter only: the data are not random here
    norm = LogNorm(vmin=float(df["factors"].min()), vmax=float(df["factors"].max()))
    for x, g in zip(positions, groups):
        dots = ax.scatter(
            x + rng.uniform(-0.2, 0.2, len(g)), g["saving"].to_numpy(float), c=g["factors"].to_numpy(float),
            cmap="viridis", norm=norm, s=9, alpha=0.55, linewidths=0, zorder=3,
        )
    top = float(df["saving"].max())
    ax.set_yscale("log")
    ax.set_ylim(0.85, top * 1.6)
    _ratio_ticks(ax.yaxis, top * 1.6)
    ax.axhline(1.0, color="gray", linestyle=":", linewidth=1, zorder=1)
    labels = [
        f"{f.replace('_', ' ')}\nmedian {float(g['saving'].median()):.3g}x\n"
        f"{100 * float((g['saving'] == 1.0).mean()):.0f}% at 1x"
        for f, g in zip(families, groups)
    ]
    ax.set_xticks(positions, labels, fontsize=9)
    ax.set_xlim(0.5, len(families) + 0.5)
    ax.set_xlabel("chain family, its median saving and the share of its chains where FWD or BWD is already optimal")
    ax.set_ylabel("saving: min(FWD, BWD) / optimal\n(ratio of multiply-adds, log scale)")
    ax.set_title(f"How much the optimal bracketing saves over the better pure mode ({len(df):,} chains)\n"
                 "boxes: quartiles and median; whiskers: 5th to 95th percentile; one dot per chain",
                 fontsize=10)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    bar = ax.figure.colorbar(dots, ax=ax, pad=0.01)
    bar.set_label("factors in the chain (N - 1)")
    values = sorted(df["factors"].unique())
    _integer_ticks(bar.ax.yaxis, values)
    return ax


def plot_notes_claim(df, ax=None):
    """Bars: how often the pure mode is optimal when an end dim is 1, per case and dim range.

    ``df`` is :func:`chainopt.experiments.notes_claim.run`'s DataFrame
    (columns ``source``, ``mode``, ``case``, ``dim_max``, ``holds``); only
    its random chains are counted.
    """
    import numpy as np

    ax = _axes(ax, figsize=(8, 4.6))
    random = df[df["source"] == "random"]
    ranges = sorted(random["dim_max"].unique())
    share = random.groupby(["mode", "case", "dim_max"])["holds"].mean() * 100
    bars = [
        ("fwd", "others >= 2", "n_1 = 1, every other dim >= 2: FWD optimal", {}),
        ("fwd", "another = 1", "n_1 = 1, another dim = 1: FWD optimal", {"hatch": "//", "alpha": 0.45}),
        ("bwd", "others >= 2", "n_N = 1, every other dim >= 2: BWD optimal", {}),
        ("bwd", "another = 1", "n_N = 1, another dim = 1: BWD optimal", {"hatch": "//", "alpha": 0.45}),
    ]
    width = 0.2
    x = np.arange(len(ranges))
    for i, (mode, case, label, style) in enumerate(bars):
        heights = [float(share.get((mode, case, r), np.nan)) for r in ranges]
        drawn = ax.bar(x + (i - 1.5) * width, heights, width, color=COLORS[mode], edgecolor=COLORS[mode],
                       label=label, **style)
        ax.bar_label(drawn, labels=[f"{h:.0f}%" for h in heights], fontsize=7, padding=1)
    ax.set_xticks(x, [f"1..{r:,}" for r in ranges])
    ax.set_xlabel("range the other dims are drawn from (log-uniform; from 2 when every other dim >= 2)")
    ax.set_ylabel("chains where the pure mode is optimal (%)")
    ax.set_ylim(0, 112)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    counts = random.groupby(["mode", "case", "dim_max"]).size()
    ax.set_title(f"The notes' claim on random chains ({int(counts.min())} per bar): "
                 "a scalar end makes its pure mode optimal\nunless another dim is also 1", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return ax


def _grid_matrix(predicted, interior: str, column: str):
    """``column`` over the (n_N rows, n_1 columns) grid of one interior, plus the axes' values."""
    part = predicted[predicted["interior"] == interior]
    table = part.pivot(index="n_out", columns="n_in", values=column).sort_index().sort_index(axis=1)
    return table.to_numpy(dtype=float), list(table.columns), list(table.index)


def _log2_grid_axes(ax, n_in, n_out):
    import numpy as np

    def labels(values):
        return [f"{v:,}" if i % 2 == 0 else "" for i, v in enumerate(values)]

    ax.set_xticks(np.arange(len(n_in)), labels(n_in), rotation=90)
    ax.set_yticks(np.arange(len(n_out)), labels(n_out))
    ax.set_xlabel("n_1 (input dimension)")
    ax.set_ylabel("n_N (output dimension)")


def plot_crossover_sweep(predicted, interior: str, n_out: int, *, widths, crossover=None, measured=None,
                         measured_crossover=None, measured_interval=None, ax=None):
    """FWD, BWD and optimal along ``n_1`` at fixed ``n_N``; crossover marked.

    Without ``measured``: predicted multiply-adds. With it: seconds, the
    predicted lines being multiply-adds divided by the median rate the
    measured points ran at, the measured medians as markers, and both the
    predicted and the measured crossover marked.

    ``widths`` are the interior's widths (for the title); ``crossover`` and
    ``measured_crossover`` the predicted and measured ``n_1*`` (``None``:
    none), as the experiment computed them: the figure computes nothing.
    ``measured_interval`` ``(low, high)`` shades the measured crossover's
    95% interval; measured markers carry the 95% interval of their median
    as error bars when ``measured`` has ``median_low_s``/``median_high_s``.
    """
    ax = _axes(ax)
    part = predicted[(predicted["interior"] == interior) & (predicted["n_out"] == n_out)].sort_values("n_in")
    scale, unit = 1.0, "multiply-adds (predicted)"
    if measured is not None:
        mpart = measured[measured["interior"] == interior]
        # one rate for the whole experiment (median over every measured point), not one per panel
        rate = float((measured["multiply_adds"] / measured["median_s"]).median())
        scale, unit = 1.0 / rate, f"seconds (lines: multiply-adds at {2 * rate / 1e9:,.1f} GFLOP/s)"
    for name in ("fwd", "bwd", "optimal"):
        ax.plot(
            part["n_in"], part[name].astype(float) * scale, color=COLORS[name], label=LABELS[name],
            linestyle="--" if name == "optimal" else "-", linewidth=1.8,
        )
        if measured is not None:
            m = mpart[mpart["strategy"] == name].sort_values("n_in")
            if "median_low_s" in m and m["median_low_s"].notna().all():
                yerr = [m["median_s"] - m["median_low_s"], m["median_high_s"] - m["median_s"]]
                ax.errorbar(m["n_in"], m["median_s"], yerr=yerr, linestyle="none", marker=MARKERS[name],
                            color=COLORS[name], markerfacecolor="none", markersize=7, capsize=2,
                            label=f"{name} measured (median, 95% CI)")
            else:
                ax.plot(m["n_in"], m["median_s"], linestyle="none", marker=MARKERS[name], color=COLORS[name],
                        markerfacecolor="none", markersize=7, label=f"{name} measured (median)")
    if crossover is not None and part["n_in"].min() <= crossover <= part["n_in"].max():
        ax.axvline(float(crossover), color="black", linewidth=1,
                   label=f"predicted crossover n_1 = {float(crossover):,.0f}")
    if measured is not None and measured_crossover is not None:
        ax.axvline(measured_crossover, color="black", linestyle=":", linewidth=1.5,
                   label=f"measured crossover n_1 = {measured_crossover:,.0f}")
    if measured is not None and measured_interval is not None:
        ax.axvspan(*measured_interval, color="black", alpha=0.08,
                   label=f"its 95% interval [{measured_interval[0]:,.1f}, {measured_interval[1]:,.1f}]")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    values = sorted(part["n_in"].unique())
    _integer_ticks(ax.xaxis, values[:: 2 if len(values) > 7 else 1])
    ax.set_xlabel("n_1 (input dimension)")
    ax.set_ylabel(unit)
    ax.set_title(f"{interior}: n_1 -> {' -> '.join(map(str, widths))} -> {n_out}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_crossover_heatmap(predicted, interior: str, ax=None):
    """Heatmap of log2(FWD/BWD) over (n_1, n_N) with the crossover (FWD = BWD) contour."""
    import numpy as np

    ax = _axes(ax, figsize=(5, 4.4))
    values, n_in, n_out = _grid_matrix(predicted, interior, "log2_fwd_over_bwd")
    # one colour scale for every interior, so panels side by side compare
    limit = max(1.0, float(predicted["log2_fwd_over_bwd"].abs().max()))
    image = ax.imshow(values, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    if np.nanmin(values) < 0 < np.nanmax(values):
        ax.contour(values, levels=[0.0], colors="black", linewidths=1.5)
    _log2_grid_axes(ax, n_in, n_out)
    ax.set_title(f"{interior} interior", fontsize=10)
    ax.figure.colorbar(image, ax=ax, label="log2(FWD / BWD)", shrink=0.85)
    return ax


def plot_saving_heatmap(predicted, interior: str, ax=None):
    """Heatmap of min(FWD, BWD) / optimal over (n_1, n_N): where bracketing pays."""
    import numpy as np
    from matplotlib.colors import LogNorm

    ax = _axes(ax, figsize=(5, 4.4))
    values, n_in, n_out = _grid_matrix(predicted, interior, "saving")
    top = max(2.0, float(predicted["saving"].max()))  # one scale for every interior
    image = ax.imshow(values, origin="lower", cmap="Greens", norm=LogNorm(vmin=1.0, vmax=top), aspect="auto")
    row, col = np.unravel_index(np.nanargmax(values), values.shape)
    ax.annotate(f"{values[row, col]:,.1f}x", (col, row), ha="right" if col == values.shape[1] - 1 else "center",
                va="top" if row == values.shape[0] - 1 else "center", fontsize=8,
                color="white" if values[row, col] > top ** 0.5 else "black", fontweight="bold")
    _log2_grid_axes(ax, n_in, n_out)
    ax.set_title(f"{interior} interior (max {values[row, col]:,.2f}x)", fontsize=10)
    bar = ax.figure.colorbar(image, ax=ax, label="better pure mode / optimal", shrink=0.85)
    _ratio_ticks(bar.ax.yaxis, top, steps=(1, 1.5, 2, 3, 5, 10, 20, 50, 100, 1000))
    return ax


def plot_predicted_vs_measured(df, *, inversions=None, fit=None, ax=None, max_labels: int = 6):
    """Median time vs multiply-adds on log axes, one colour per chain.

    With ``fit`` (from :func:`chainopt.experiments.predicted_vs_measured.fit_rate`)
    draws the fitted line; with ``inversions`` rings and labels (up to
    ``max_labels``, the largest slowdowns) the plans that were slower than a
    plan with more multiply-adds.
    """
    import numpy as np

    ax = _axes(ax, figsize=(7.6, 5.4))
    cmap = __import__("matplotlib").colormaps["tab10"]
    for i, (chain, part) in enumerate(df.groupby("chain", sort=False)):
        ax.scatter(
            part["multiply_adds"].astype(float), part["median_s"], s=22, color=cmap(i % 10), label=chain, alpha=0.85
        )
        if "median_low_s" in part and part["median_low_s"].notna().all():  # the 95% interval of each median
            ax.errorbar(part["multiply_adds"].astype(float), part["median_s"], linestyle="none", color=cmap(i % 10),
                        yerr=[part["median_s"] - part["median_low_s"], part["median_high_s"] - part["median_s"]],
                        alpha=0.5, linewidth=0.8)
    if fit is not None and np.isfinite(fit["gflops_fit"]):
        x = np.geomspace(float(df["multiply_adds"].min()), float(df["multiply_adds"].max()), 50)
        y = fit["overhead_s"] + x * 2 / (fit["gflops_fit"] * 1e9)
        label = f"fit: {fit['gflops_fit']:,.1f} GFLOP/s + {fit['overhead_s'] * 1e6:,.0f} us"
        ax.plot(x, y, color="black", linewidth=1, label=label)
    if inversions is not None and len(inversions):
        ax.scatter(inversions["multiply_adds"].astype(float), inversions["median_s"], s=90, facecolors="none",
                   edgecolors="black", linewidths=1.2, label="slower than a plan with more multiply-adds")
        top = inversions.sort_values("slowdown", ascending=False).head(max_labels)
        for k, r in enumerate(top.to_dict("records")):
            low, high = r.get("slowdown_low", np.nan), r.get("slowdown_high", np.nan)
            interval = f" [{low:.2f}, {high:.2f}]" if np.isfinite(low) and np.isfinite(high) else ""
            ax.annotate(f"{r['plan']} ({r['slowdown']:.2f}x{interval})", (float(r["multiply_adds"]), r["median_s"]),
                        xytext=(8, -12 - 10 * (k % 3)), textcoords="offset points", fontsize=7,
                        arrowprops={"arrowstyle": "-", "linewidth": 0.5})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted multiply-adds")
    ax.set_ylabel("measured median seconds")
    title = "Time vs multiply-adds, every bracketing of small chains"
    if fit is not None:
        title += f" (Spearman {fit['spearman']:.3f})"
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_scaling(df, *, x="factors", title="", ylabel="seconds (median)", labels=None, annotate=None,
                 targets=None, ax=None):
    """Log-log ``seconds`` vs ``x``, one line per ``method`` (legend ``labels[method]``).

    ``annotate`` labels the greedy method's points with that column's value
    (a ratio); ``targets`` (``{x: seconds}``) are drawn as grey stars.
    """
    ax = _axes(ax)
    labels = labels or {}
    for method, part in df.groupby("method", sort=False):
        part = part.sort_values(x)
        line, = ax.plot(part[x], part["seconds"], marker=MARKERS.get(method, "o"), label=labels.get(method, method))
        if annotate and method == "greedy":
            for r in part.to_dict("records"):
                ax.annotate(f"{r[annotate]:.3g}x", (r[x], r["seconds"]), xytext=(4, 4), fontsize=7,
                            textcoords="offset points", color=line.get_color())
    if targets:
        ax.scatter(list(targets), list(targets.values()), marker="*", s=120, color="grey", label="target", zorder=3)
    ax.set(xscale="log", yscale="log", xlabel=x, ylabel=ylabel, title=title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_ratio_distribution(ratios, *, by, title="", xlabel="", ax=None):
    """Box plot of the float ``ratios`` Series grouped by the Series ``by`` (one box per group), points on top."""
    import numpy as np

    ax = _axes(ax)
    groups = [(k, ratios[by == k].to_numpy(float)) for k in sorted(by.unique())]
    ax.boxplot([g for _, g in groups], tick_labels=[str(k) for k, _ in groups], showfliers=False)
    for i, (_, g) in enumerate(groups):
        ax.scatter(i + 1 + (np.random.default_rng(i).random(len(g)) - 0.5) * 0.3, g, s=8, alpha=0.5)
    ax.set(xlabel=xlabel, ylabel="ratio", title=title)
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def plot_speedups(df, ax=None):
    """Predicted vs measured speed-up per chain: bars side by side, the measured one with its spread."""
    import numpy as np

    ax = _axes(ax, figsize=(7.6, 4.4))
    x = np.arange(len(df))
    ax.bar(x - 0.2, df["predicted"], 0.4, label="predicted (makespan 1 / 2 machines)")
    err = np.vstack([df["measured"] - df["measured_low"], df["measured_high"] - df["measured"]])
    ax.bar(x + 0.2, df["measured"], 0.4, yerr=err, capsize=3, label="measured (sync / threads, medians)")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(x, df["chain"], rotation=30, ha="right", fontsize=7)
    ax.set(ylabel="speed-up on 2 cores", title="Two machines: predicted vs measured speed-up")
    ax.legend(fontsize=8)
    return ax


__all__ += ["plot_scaling", "plot_ratio_distribution", "plot_speedups"]

"""chainopt.jax and chainopt.torch against each framework's own jacfwd and jacrev.

Inside each framework, on the tanh MLPs of the six shapes of the generalized
issue (``chainopt.layers.builders.dense_layers`` weights, a tanh after every
dense layer but the last) and on a ResNet stack (``chainopt.layers.resnet``
blocks ``x -> x + A^T tanh(A x)``, one stage each): the full Jacobian by
``chainopt.jax.jacobian`` against ``jax.jit(jax.jacfwd)`` and
``jax.jit(jax.jacrev)`` (weights passed as arguments, so nothing is
constant-folded; chainopt hoists a stage's closed-over arrays into
arguments too), and by ``chainopt.torch.jacobian`` against
``torch.func.jacfwd`` and ``torch.func.jacrev`` (the dense layers are
``torch.nn.Linear`` modules and the tanh stages ``torch.nn.Tanh``, the same
modules for all three). float64 throughout.

The process is pinned to one core (``os.sched_setaffinity``; XLA's flags
alone let JAX use 1.8 cores), torch and BLAS to one thread. The first call
(chainopt: costing the stages, planning, compiling; the peers: tracing and
compiling) is timed apart from the warm calls, which are interleaved repeats
of chainopt with one peer at a time (medians with their interquartile range;
chainopt's from its session with the faster peer). Every result is checked against
the framework's jacrev. A missing framework is skipped with a note.
"""

from __future__ import annotations

import os
import time
from importlib.util import find_spec

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.bench.harness import time_interleaved
from chainopt.bench.intervals import format_ratio, ratio_interval, ratio_verdict
from chainopt.errors import ChainoptError, ResultMismatchError
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.experiments.bench_shapes import SHAPES
from chainopt.layers.builders import dense_layers, resnet

__all__ = ["main", "CASES", "QUICK_CASES", "FRAMEWORKS"]

#: name -> ("mlp", widths) or ("resnet", (width, depth)).
CASES = {**{name: ("mlp", dims) for name, dims in SHAPES.items()}, "resnet": ("resnet", (500, 6))}
#: A small version that runs in seconds.
QUICK_CASES = {"hourglass": ("mlp", (200, 20, 2, 20, 200)), "resnet": ("resnet", (50, 3))}
FRAMEWORKS = ("jax", "torch")
#: Results must match the framework's jacrev to this, relative to its largest entry.
RTOL = 1e-10


def _weights(kind, spec, seed):
    if kind == "mlp":
        return [("dense", layer.W, layer.b) for layer in dense_layers(spec, seed)]
    return [("residual", layer.A, None) for layer in resnet(spec[0], spec[1], seed).layers]


def _jax_methods(layers, x0):
    import jax
    import jax.numpy as jnp

    from chainopt import jax as cjax

    jax.config.update("jax_enable_x64", True)
    params = [(jnp.asarray(a), None if b is None else jnp.asarray(b)) for _, a, b in layers]
    kinds = [kind for kind, _, _ in layers]
    stages = []
    for k, (kind, (a, b)) in enumerate(zip(kinds, params)):
        if kind == "dense":
            stages.append(lambda x, a=a, b=b: a @ x + b)
            if k < len(kinds) - 1:
                stages.append(jnp.tanh)
        else:
            stages.append(lambda x, a=a: x + a.T @ jnp.tanh(a @ x))

    def f(params, x):
        for k, (kind, (a, b)) in enumerate(zip(kinds, params)):
            if kind == "dense":
                x = a @ x + b
                x = jnp.tanh(x) if k < len(kinds) - 1 else x
            else:
                x = x + a.T @ jnp.tanh(a @ x)
        return x

    x = jnp.asarray(x0)
    jac = cjax.Jacobian(stages)
    fwd, bwd = jax.jit(jax.jacfwd(f, argnums=1)), jax.jit(jax.jacrev(f, argnums=1))
    methods = {"chainopt": lambda: jac(x).block_until_ready(),
               "jacfwd": lambda: fwd(params, x).block_until_ready(),
               "jacrev": lambda: bwd(params, x).block_until_ready()}
    return methods, lambda: jac.plan(x)


def _torch_methods(layers, x0):
    import torch

    from chainopt import torch as ctorch

    stages = []
    for k, (kind, a, b) in enumerate(layers):
        if kind == "dense":  # a torch.nn.Linear with these weights, then a torch.nn.Tanh: as a user writes it
            linear = torch.nn.Linear(a.shape[1], a.shape[0], dtype=torch.float64).requires_grad_(False)
            with torch.no_grad():  # weights that need no gradient, as the plain tensors of the JAX stacks
                linear.weight.copy_(torch.tensor(a))
                linear.bias.copy_(torch.tensor(b))
            stages.append(linear)
            if k < len(layers) - 1:
                stages.append(torch.nn.Tanh())
        else:
            a = torch.tensor(a)
            stages.append(lambda x, a=a: x + a.T @ torch.tanh(a @ x))

    def f(x):
        for s in stages:
            x = s(x)
        return x

    x = torch.as_tensor(x0)
    jac = ctorch.Jacobian(stages)
    fwd, bwd = torch.func.jacfwd(f), torch.func.jacrev(f)
    return {"chainopt": lambda: jac(x), "jacfwd": lambda: fwd(x), "jacrev": lambda: bwd(x)}, lambda: jac.plan(x)


def _as_numpy(a):
    return a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)


def _time_fairly(methods, repeats, progress):
    """Time chainopt against each peer in a session of its own; chainopt's times from the faster peer's.

    A call right after a slow peer's large buffers runs measurably slower,
    even after a priming call (1.4 ms against 1.1 ms for the same compiled
    program on expanding in JAX, when interleaved with a 150 ms ``jacrev``),
    and rotating one order of three keeps who follows whom. So chainopt and
    each peer alternate in a session of their own, and chainopt's times are
    those of the session against the faster peer: the pair the ratio compares.
    """
    sessions = {peer: time_interleaved({"chainopt": methods["chainopt"], peer: methods[peer]}, repeats=repeats,
                                       progress=progress) for peer in ("jacfwd", "jacrev")}
    better = min(sessions, key=lambda peer: float(np.median(sessions[peer][peer])))
    return {"chainopt": sessions[better]["chainopt"], "jacfwd": sessions["jacfwd"]["jacfwd"],
            "jacrev": sessions["jacrev"]["jacrev"]}


def _run_case(framework, name, kind, spec, seed, repeats, progress):
    layers = _weights(kind, spec, seed)
    n_in = layers[0][1].shape[1]
    x0 = np.random.default_rng(seed + 1).standard_normal(n_in)
    build = _jax_methods if framework == "jax" else _torch_methods
    methods, planned = build(layers, x0)
    first, results = {}, {}
    for method, call in methods.items():
        start = time.perf_counter()
        results[method] = _as_numpy(call())
        first[method] = time.perf_counter() - start
    ref = results["jacrev"]
    for method, value in results.items():
        err = float(np.max(np.abs(value.reshape(ref.shape) - ref)) / max(np.max(np.abs(ref)), 1e-300))
        if err > RTOL:
            raise ResultMismatchError(f"{framework} {name}: {method} differs from jacrev by {err:.2e} relative")
    times = _time_fairly(methods, repeats, progress)
    p = planned()
    predicted = {"chainopt": p.cost, "jacfwd": p.plans["fwd"].cost, "jacrev": p.plans["bwd"].cost}
    better = min(("jacfwd", "jacrev"), key=lambda m: float(np.median(times[m])))
    # chainopt's rounds ran paired with the better peer's (one session): the ratio's interval pairs them
    low, high = ratio_interval(times[better], times["chainopt"])
    rows = []
    for method, ts in times.items():
        q25, q50, q75 = np.percentile(ts, [25, 50, 75])
        rows.append({"framework": framework, "shape": name, "dims": "x".join(map(str, p.plan.chain.dims)),
                     "method": method, "median_s": float(q50), "q25_s": float(q25), "q75_s": float(q75),
                     "first_call_s": first[method], "predicted_madds": predicted[method],
                     "plan": str(p.plan) if method == "chainopt" else method, "repeats": len(ts),
                     "better_over_chainopt_low": low, "better_over_chainopt_high": high})
    return rows


class _OneCore:
    """Pin the process to one core and torch/BLAS to one thread; restore on exit."""

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self.affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        if self.affinity:
            os.sched_setaffinity(0, {min(self.affinity)})
        self.limits = threadpool_limits(1)
        self.torch_threads = None
        if find_spec("torch") is not None:
            import torch

            self.torch_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        if self.affinity:
            os.sched_setaffinity(0, self.affinity)
        self.limits.restore_original_limits()
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)


def _figure(df):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.8))
    shapes = list(dict.fromkeys(df["shape"]))
    for i, framework in enumerate(sorted(set(df["framework"]))):
        ratios = []
        for shape in shapes:
            sub = df[(df["framework"] == framework) & (df["shape"] == shape)].set_index("method")["median_s"]
            ratios.append(min(sub["jacfwd"], sub["jacrev"]) / sub["chainopt"] if len(sub) else np.nan)
        ax.bar(np.arange(len(shapes)) + 0.4 * i - 0.2, ratios, width=0.4, label=framework)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(shapes)), shapes, rotation=20)
    ax.set_ylabel("better of jacfwd, jacrev / chainopt\n(warm medians; > 1: chainopt faster)")
    ax.legend(title="framework")
    return fig


def main(out_dir, quick: bool = False, *, seed: int = 0, progress=None) -> dict:
    """Time chainopt's front ends against jacfwd and jacrev; write ``frameworks.{csv,md,png}``."""
    import pandas as pd

    out = prepare(out_dir)
    cases = QUICK_CASES if quick else CASES
    repeats = 6 if quick else 9
    present = [fw for fw in FRAMEWORKS if find_spec(fw) is not None]
    missing = [fw for fw in FRAMEWORKS if fw not in present]
    paths, rows = [], []
    info = machine_info()
    if present:
        with _OneCore():
            info = machine_info()  # the BLAS threads the benchmark ran with
            for framework in present:
                _run_case(framework, "warm-up", "mlp", (3, 2, 2), seed, 1, None)  # imports and one-time set-up
                for name, (kind, spec) in cases.items():
                    if progress:
                        progress(f"frameworks: {framework} {name}")
                    rows += _run_case(framework, name, kind, spec, seed, repeats, progress=None)
    df = pd.DataFrame(rows)
    lines, reading_parts = [], []
    if missing:
        lines += [f"Skipped (not installed): {', '.join(missing)}. Install with `pip install \".[peers]\"`.", ""]
    if rows:
        paths.append(write_csv(df, out / "frameworks.csv"))
        paths.append(save_figure(_figure(df), out / "frameworks.png"))
        for framework in present:
            lines += [f"## {framework}", "",
                      "| shape | chainopt (s) | jacfwd (s) | jacrev (s) | better / chainopt | first call: chainopt, "
                      "jacfwd, jacrev (s) | predicted madds: chainopt / better pure | plan |",
                      "|---|---:|---:|---:|---:|---|---:|---|"]
            ratios = {}
            for name in cases:
                sub = df[(df["framework"] == framework) & (df["shape"] == name)].set_index("method")
                med = sub["median_s"]
                ratio = min(med["jacfwd"], med["jacrev"]) / med["chainopt"]
                cell = {m: f"{med[m]:.4g} [{sub.loc[m, 'q25_s']:.3g}, {sub.loc[m, 'q75_s']:.3g}]" for m in med.index}
                low, high = sub.loc["chainopt", ["better_over_chainopt_low", "better_over_chainopt_high"]]
                verdict = ratio_verdict(low, high, above="chainopt faster", below="chainopt slower")
                ratio_cell = f"{format_ratio(ratio, low, high)} ({verdict})"
                ratios[name] = f"{ratio:.2f}x" + ("" if verdict.startswith("chainopt") else f" ({verdict})")
                pm = sub["predicted_madds"]
                lines.append(
                    f"| {name} ({sub.loc['chainopt', 'dims']}) | {cell['chainopt']} | {cell['jacfwd']} | "
                    f"{cell['jacrev']} | {ratio_cell} | {sub.loc['chainopt', 'first_call_s']:.2f}, "
                    f"{sub.loc['jacfwd', 'first_call_s']:.2f}, {sub.loc['jacrev', 'first_call_s']:.2f} | "
                    f"{pm['chainopt']:,} / {min(pm['jacfwd'], pm['jacrev']):,} | `{sub.loc['chainopt', 'plan']}` |")
            lines.append("")
            reading_parts.append(f"{framework}: chainopt vs the better of jacfwd/jacrev "
                                 + ", ".join(f"{n} {r}" for n, r in ratios.items()))
        lines += ["Times are warm medians with the interquartile range in brackets; 'better / chainopt' is the "
                  "ratio of medians with its 95% paired bootstrap interval (chainopt's rounds alternated with the "
                  "better peer's), 'no measurable difference' when it contains 1; the first call (chainopt: "
                  "costing the stages, planning and, in JAX, compiling; the peers: tracing and compiling) is "
                  "apart, one measurement each, as a first call happens once. Dims are the flattened chain, "
                  "tanh stages included.", "",
                  "![chainopt against jacfwd and jacrev](frameworks.png)"]
    reading = ("; ".join(reading_parts) + ".") if reading_parts else "No framework installed: nothing measured."
    lines = [__doc__.strip().split("\n\n")[0], "", reading, "", *lines]
    paths.append(write_markdown(out / "frameworks.md", "chainopt inside JAX and PyTorch", lines,
                                command="python experiments/frameworks.py", info=info))
    if not paths:
        raise ChainoptError("nothing written")
    return {"paths": paths, "reading": reading, "table": df}

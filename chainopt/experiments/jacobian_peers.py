"""A network's full Jacobian: chainopt's Network.jacobian against JAX and PyTorch, all on one core.

Six tanh MLPs (the issue's shapes, widths input first). For each, the same
weights, biases and point go to:

- ``chainopt``: ``Network.jacobian(x)``, the optimal generalized plan (cached
  after the first call, which includes planning);
- ``jax.jacfwd`` / ``jax.jacrev``: jit-compiled, float64
  (``jax_enable_x64``), the weights and ``x`` passed as arguments so nothing
  is constant-folded; compile time reported apart;
- ``torch.func.jacfwd`` / ``jacrev``: float64, eager;
- ``chainopt products only`` (:data:`FLOOR`, not a competitor): the same
  program with every activation's value and derivative looked up instead of
  computed (:func:`products_only`), i.e. the products, scalings and bias
  additions chainopt's plan needs and the generated code around them. Where
  even this is slower than the best peer, no change to the nonlinearities
  can meet the target with numpy's kernels.

Fairness: the whole process (every thread) is pinned to one CPU
(``os.sched_setaffinity``), BLAS and OpenMP are held to one thread
(threadpoolctl), torch to one thread; each library's measured matmul rate is
reported so an unfair setup shows. Run it with OpenBLAS's kernel selection
unset, in that command only (this machine's ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` hold numpy to older kernels)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python experiments/jacobian_peers.py

Timing: repeats interleaved across the methods (rotated each round, each
measurement after an untimed call of the same method), medians with the
interquartile range of the repeats. Every Jacobian is checked against every
other (1e-10 relative to the largest entry). Predicted multiply-adds: the
plan's cost for chainopt; for ``jacfwd`` ``n_1`` tangents through every
layer (``n_1 * sum t_k``), for ``jacrev`` ``n_N`` adjoints (``n_N * sum a_k``);
the forward pass every method also does is not counted. A missing JAX or
PyTorch is skipped with a note (``pip install "chainopt[peers]"``).

Targets (computed, not asserted): chainopt no slower than the best peer on
every shape, at least 3x faster on hourglass and bottleneck.
"""

from __future__ import annotations

import math
import os
import statistics
import time

import numpy as np

from chainopt.bench.environment import machine_info
from chainopt.bench.harness import autorange, time_interleaved
from chainopt.bench.intervals import format_ratio, ratio_interval, target_status
from chainopt.errors import ResultMismatchError
from chainopt.experiments._io import prepare, save_figure, write_csv, write_markdown
from chainopt.experiments.bench_shapes import SHAPES  # the six shapes, as tanh MLPs here
from chainopt.experiments.kernels import kernel_rows, peer_import, peer_warnings_silenced, product_calls
from chainopt.experiments.pinning import one_core  # re-exported: scripts and tests use it from here
from chainopt.layers import Dense, Elementwise, Network, from_weights, mlp
from chainopt.layers.activations import Activation
from chainopt.report.render import markdown_table

__all__ = ["FLOOR", "PEERS", "SHAPES", "TARGET_SPEEDUP", "TOLERANCE", "main", "one_core", "peer_methods",
           "predicted_madds", "products_only"]

#: chainopt must be at least this much faster than the best peer on these shapes (and no slower on all).
TARGET_SPEEDUP = {"hourglass": 3.0, "bottleneck": 3.0}
#: Largest relative difference allowed between any two methods' Jacobians.
TOLERANCE = 1e-10
_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: The method name of chainopt's products alone (:func:`products_only`): a bound, not a peer.
FLOOR = "chainopt products only"


def products_only(net: Network, x: np.ndarray) -> Network:
    """``net`` with every activation replaced by a lookup of its value and derivative at ``x``.

    Its ``jacobian(x)`` runs the same compiled plan (every product, scaling
    and bias addition, the same generated code) and gives exactly ``net``'s
    Jacobian at ``x``, without evaluating a single nonlinearity: the part of
    chainopt's time that numpy's kernels set.

    Examples
    --------
    >>> net = mlp([3, 4, 2], seed=0)
    >>> x = np.linspace(-1, 1, 3)
    >>> bool(np.array_equal(products_only(net, x).jacobian(x), net.jacobian(x)))
    True
    """
    layers, z = [], np.asarray(x, dtype=float)
    for layer in net.layers:
        if isinstance(layer, Elementwise):
            y = layer.activation.f(z)
            d = layer.activation.derivative(z, y)
            looked_up = Activation(f"{layer.activation.name} at x", lambda _, y=y: y, lambda _x, _y, d=d: d)
            layers.append(Elementwise(layer.n, looked_up))
            z = y
        else:
            layers.append(layer)
            z = layer(z)
    return Network(layers)


def predicted_madds(widths) -> dict[str, int]:
    """Multiply-adds of ``jacfwd`` (``n_1`` tangents through every layer) and ``jacrev`` (``n_N`` adjoints).

    Examples
    --------
    >>> predicted_madds((3, 2, 1))  # t = a: 6 + 2 + 2 = 10 per direction
    {'jacfwd': 30, 'jacrev': 10}
    """
    per_direction = sum(f.tangent for f in mlp(list(widths), seed=0).factors())
    return {"jacfwd": widths[0] * per_direction, "jacrev": widths[-1] * per_direction}


def _jax_methods(params, x, notes):
    jax = peer_import("jax")
    if jax is None:
        notes.append('JAX is not installed: its rows are skipped (pip install "chainopt[peers]")')
        return {}, {}
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def f(params, x):
        for k, (W, b) in enumerate(params):
            x = W @ x + b
            x = jnp.tanh(x) if k < len(params) - 1 else x
        return x

    jparams = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
    jx = jnp.asarray(x)
    methods, first = {}, {}
    for name, transform in (("jax.jacfwd", jax.jacfwd), ("jax.jacrev", jax.jacrev)):
        start = time.perf_counter()
        compiled = jax.jit(transform(f, argnums=1)).lower(jparams, jx).compile()
        first[name] = time.perf_counter() - start
        methods[name] = (lambda c=compiled: c(jparams, jx).block_until_ready())
    return methods, first


def _torch_methods(params, x, notes):
    torch = peer_import("torch")
    if torch is None:
        notes.append('PyTorch is not installed: its rows are skipped (pip install "chainopt[peers]")')
        return {}, {}
    torch.set_num_threads(1)

    def f(params, x):
        for k, (W, b) in enumerate(params):
            x = W @ x + b
            x = torch.tanh(x) if k < len(params) - 1 else x
        return x

    tparams = tuple((torch.from_numpy(np.array(W)), torch.from_numpy(np.array(b))) for W, b in params)
    tx = torch.from_numpy(np.array(x))
    methods, first = {}, {}
    for name, transform in (("torch.func.jacfwd", torch.func.jacfwd), ("torch.func.jacrev", torch.func.jacrev)):
        g = transform(f, argnums=1)
        start = time.perf_counter()
        with peer_warnings_silenced():
            g(tparams, tx)
        first[name] = time.perf_counter() - start
        methods[name] = (lambda g=g: g(tparams, tx))
    return methods, first


#: The peers by name: each builds ``({method: call}, {method: first-call seconds})``.
PEERS = {"jax": _jax_methods, "torch": _torch_methods}


def peer_methods(params, x, notes: list, peers=tuple(PEERS)):
    """``({name: call}, {name: first-call seconds})`` for the installed ``peers``; a note per missing one."""
    methods, first = {}, {}
    for peer in peers:
        m, f = PEERS[peer](params, x, notes)
        methods.update(m)
        first.update(f)
    return methods, first


def _as_numpy(result) -> np.ndarray:
    return np.asarray(result.numpy() if hasattr(result, "numpy") else result)


def matmul_rates(size: int, repeats: int = 3, peers=("jax", "torch")) -> dict[str, float]:
    """GFLOP/s of one ``size x size`` float64 product in numpy and in each installed peer (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    calls = product_calls(rng.standard_normal((size, size)), rng.standard_normal((size, size)), peers)
    times = time_interleaved(calls, repeats=repeats, warmup=1, prime=False)
    return {name: 2 * size**3 / min(ts) / 1e9 for name, ts in times.items()}


def _kernel() -> str:
    """The BLAS of numpy with its kernel (threadpoolctl's ``architecture``) and the kernel variables seen."""
    from threadpoolctl import threadpool_info

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    pools.sort(key=lambda p: "numpy" not in str(p.get("filepath", "")))
    blas = (f"{pools[0].get('internal_api')} {pools[0].get('version', '')}, kernel "
            f"{pools[0].get('architecture', 'unknown')}") if pools else "unknown"
    seen = [f"{v}={os.environ[v]}" for v in _KERNEL_VARS if v in os.environ]
    if seen:
        return f"{blas}; {', '.join(seen)} SET (run with env -u ...)"
    return f"{blas}; {', '.join(_KERNEL_VARS)} unset"


def _shape_rows(shape, widths, *, seed, repeats, min_time, notes, say, peers):
    """Time every method on one shape; one row per method."""
    net = mlp(list(widths), activation="tanh", seed=seed)
    params = [(layer.W, layer.b) for layer in net.layers if isinstance(layer, Dense)]
    x = np.random.default_rng(seed).uniform(-1, 1, widths[0])
    fresh = from_weights([W for W, _ in params], [b for _, b in params], "tanh")
    start = time.perf_counter()
    fresh.jacobian(x)  # the first call plans
    first = {"chainopt": time.perf_counter() - start}
    floor = products_only(net, x)
    start = time.perf_counter()
    floor.jacobian(x)
    first[FLOOR] = time.perf_counter() - start
    methods = {"chainopt": lambda: net.jacobian(x), FLOOR: lambda: floor.jacobian(x)}
    peer_calls, peer_first = peer_methods(params, x, notes, peers)
    methods.update(peer_calls)
    first.update(peer_first)
    results = {name: _as_numpy(call()) for name, call in methods.items()}
    scale = max(np.abs(results["chainopt"]).max(), 1e-300)
    diff = {name: max(np.abs(J - other).max() / scale for other in results.values()) for name, J in results.items()}
    if max(diff.values()) > TOLERANCE:
        raise ResultMismatchError(f"{shape}: the Jacobians differ by up to {max(diff.values()):.1e} relative "
                                  f"(allowed {TOLERANCE:.0e}): " + ", ".join(f"{k} {v:.1e}" for k, v in diff.items()))
    say(f"jacobian_peers: {shape} {widths}: timing {', '.join(methods)}")
    cpu0, wall0 = os.times(), time.perf_counter()
    times = time_interleaved(methods, repeats=repeats, warmup=1, number=autorange(methods, min_time))
    cpu1, wall1 = os.times(), time.perf_counter()
    cores = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (wall1 - wall0)
    predicted = {"chainopt": net.plan().cost, **predicted_madds(widths)}
    peer_medians = {name: statistics.median(ts) for name, ts in times.items() if name in peer_calls}
    best = min(peer_medians, key=peer_medians.__getitem__, default=None)
    # every method's rounds were interleaved: the ratio's interval pairs them
    span = ratio_interval(times[best], times["chainopt"]) if best else (math.nan, math.nan)
    rows = []
    for name, ts in times.items():
        q1, _, q3 = statistics.quantiles(ts, n=4) if len(ts) > 1 else (ts[0], ts[0], ts[0])
        rows.append({
            "shape": shape, "widths": " ".join(map(str, widths)), "method": name,
            "plan": "" if name.startswith(("jax.", "torch.")) else str(net.plan()),
            "predicted_madds": predicted[name.rsplit(".", 1)[1] if name.startswith(("jax.", "torch.")) else "chainopt"],
            "median_s": statistics.median(ts), "q1_s": q1, "q3_s": q3, "min_s": min(ts), "repeats": len(ts),
            "first_call_s": first[name], "max_rel_diff": diff[name], "cores_used": cores,
            "seconds": " ".join(map(repr, ts)),  # every repeat, in round order (the rounds pair the methods)
            "best_peer_over_chainopt_low": span[0], "best_peer_over_chainopt_high": span[1],
        })
    return rows


def _figure(df):
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(df["shape"]))
    methods = list(dict.fromkeys(df["method"]))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        sub = df[df["method"] == method].set_index("shape").reindex(shapes)
        pos = np.arange(len(shapes)) + (i - (len(methods) - 1) / 2) * width
        err = [1e3 * (sub["median_s"] - sub["q1_s"]), 1e3 * (sub["q3_s"] - sub["median_s"])]
        ax.bar(pos, 1e3 * sub["median_s"], width, yerr=err, label=method, capsize=2)
    ax.set_xticks(np.arange(len(shapes)), shapes)
    ax.set_yscale("log")
    ax.set_ylabel("median ms (IQR bars), one core")
    ax.set_title("Full Jacobian of a tanh MLP: chainopt vs JAX and PyTorch")
    ax.legend(fontsize=8)
    return fig


def main(out_dir="reports", quick: bool = False, *, seed: int = 0, progress=None, peers=tuple(PEERS)):
    """Run the comparison; write ``jacobian_peers.{md,csv,png}`` into ``out_dir``.

    ``quick`` divides every width by 20 and uses 6 repeats and a small matmul:
    a smoke test, not a measurement. ``peers`` names the peers to try (a
    subset of :data:`PEERS`; ``()``: chainopt alone). Returns a dict: ``paths``, ``reading``,
    ``ratios`` (best peer's median over chainopt's, per shape; ``None``
    without peers), ``notes``, ``kernels`` (:func:`~chainopt.experiments.kernels.kernel_rows`).
    """
    import pandas as pd

    say = progress or (lambda message: None)
    out = prepare(out_dir)
    notes: list[str] = []
    shapes = {k: tuple(max(1, w // 20) for w in v) for k, v in SHAPES.items()} if quick else SHAPES
    repeats, min_time, size = (6, 0.002, 128) if quick else (11, 0.05, 1000)
    with one_core() as cpu:
        info = machine_info()
        kernel = _kernel()
        rows = []
        for shape, widths in shapes.items():
            rows += _shape_rows(shape, widths, seed=seed, repeats=repeats, min_time=min_time, notes=notes, say=say,
                                peers=peers)
        rates = matmul_rates(size, peers=peers)
        say("jacobian_peers: the plans' costliest products, by library")
        kernels = kernel_rows({shape: mlp(list(widths), activation="tanh", seed=seed).plan()
                               for shape, widths in shapes.items()}, peers=peers, repeats=repeats)
    notes = list(dict.fromkeys(notes)) or ([] if peers else ["no peer asked for: chainopt alone"])
    df = pd.DataFrame(rows)
    ratios, floor_ratios, spans = {}, {}, {}
    for shape in shapes:
        part = df[df["shape"] == shape].set_index("method")
        sub = part["median_s"]
        peers = sub.drop(["chainopt", FLOOR])
        ratios[shape] = float(peers.min() / sub["chainopt"]) if len(peers) else None
        floor_ratios[shape] = float(peers.min() / sub[FLOOR]) if len(peers) else None
        spans[shape] = tuple(part.loc["chainopt", ["best_peer_over_chainopt_low", "best_peer_over_chainopt_high"]])
    df["best_peer_over_chainopt"] = df["shape"].map(ratios)
    df["best_peer_over_products_only"] = df["shape"].map(floor_ratios)
    csv_path = write_csv(df, out / "jacobian_peers.csv")
    png_path = save_figure(_figure(df), out / "jacobian_peers.png")
    # met: the whole 95% interval at or above the target; missed: the whole below; else undecided
    said = {"met": "yes", "missed": "no", "undecided": "undecided (the interval holds the target)",
            "not measurable": "not measurable"}
    met = {s: "-" if r is None else said[target_status(*spans[s], TARGET_SPEEDUP.get(s, 1.0), at_least=True)]
           for s, r in ratios.items()}
    if all(r is None for r in ratios.values()):
        reading = "No peer (JAX, PyTorch) is installed: only chainopt was timed."
    else:
        reading = (f"On one core, chainopt's Network.jacobian met its target on "
                   f"{sum(v == 'yes' for v in met.values())} of {len(met)} shapes (the whole 95% interval at or "
                   "above it); best peer's median over chainopt's: "
                   + ", ".join(f"{s} {format_ratio(r, *spans[s]).replace(' ', 'x ', 1)}" for s, r in ratios.items()
                               if r is not None)
                   + ".")
        short = [s for s, r in floor_ratios.items() if r is not None and r < TARGET_SPEEDUP.get(s, 1.0)]
        reading += (
            " chainopt's products alone (every activation looked up, not computed) were slower than the target "
            "allows on " + ", ".join(short) + ": there numpy's kernels and per-call costs alone miss it, "
            "whatever the nonlinearities cost." if short else
            " chainopt's products alone (every activation looked up, not computed) met the target on every shape: "
            "where chainopt misses it, the nonlinearities' cost decides.")
    table = [{
        "shape": r["shape"], "method": r["method"], "predicted multiply-adds": f"{r['predicted_madds']:,}",
        "median ms": f"{1e3 * r['median_s']:.3f}", "IQR ms": f"{1e3 * r['q1_s']:.3f}-{1e3 * r['q3_s']:.3f}",
        "first call / compile ms (one call)": f"{1e3 * r['first_call_s']:.1f}",
        "max rel diff": f"{r['max_rel_diff']:.1e}",
        "cores used": f"{r['cores_used']:.2f}",
    } for r in rows]
    targets = [{"shape": s, "widths": " ".join(map(str, shapes[s])),
                "best peer / chainopt [95% CI]": "-" if r is None else format_ratio(r, *spans[s]),
                "best peer / products only": "-" if floor_ratios[s] is None else f"{floor_ratios[s]:.2f}x",
                "target": f">= {TARGET_SPEEDUP.get(s, 1.0):.0f}x", "met": met[s]}
               for s, r in ratios.items()]
    body = [
        f"- pinned to CPU {cpu} (every thread), BLAS/OpenMP and torch held to 1 thread; numpy BLAS: {kernel}",
        "- matmul rate, " + f"{size} x {size} float64, best of 3: "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in rates.items()),
        f"- timing: {repeats} repeats interleaved across methods (rotated), each after an untimed call, each "
        f"at least {min_time} s; medians, IQR of the repeats; seed {seed}; float64; 'cores used' is CPU time "
        "over wall time while the shape was timed"
        + ("; **quick mode: widths divided by 20, a smoke test, not a measurement**" if quick else ""),
        *[f"- note: {n}" for n in notes],
        "", "## Reading", "", reading, "", "## Targets", "", markdown_table(targets), "",
        "## Every method", "",
        f"`{FLOOR}` is not a competitor but a bound: chainopt's compiled program with every activation's value "
        "and derivative looked up instead of computed (the same products, scalings and bias additions), so its "
        "time is what numpy's kernels and per-call costs alone take. "
        "Predicted multiply-adds: the plan's cost for chainopt, `n_1 * sum t_k` for jacfwd and "
        "`n_N * sum a_k` for jacrev (the forward pass is not counted). First call: chainopt's includes "
        "planning, JAX's is `jit(...).lower(...).compile()`, PyTorch's the first eager call: one measurement "
        "each, as a first call happens once.", "",
        markdown_table(table), "",
        "## The costliest product of chainopt's plan, by library", "",
        "The one dense product that dominates each plan, alone, float64, on the same core, interleaved "
        "(median microseconds and interquartile range). Where chainopt does the same multiply-adds as the best "
        "peer and is still slower, this shows how much of the gap is the BLAS kernel's: numpy's OpenBLAS "
        "against XLA's and PyTorch's own kernels for the same shapes.", "",
        markdown_table([{"shape": r["shape"], "product": r["product"], "multiply-adds": f"{r['madds']:,}",
                         **{f"{lib} us [IQR]": f"{r[f'{lib}_us']:.1f} [{r[f'{lib}_iqr_us'][0]:.1f}, "
                            f"{r[f'{lib}_iqr_us'][1]:.1f}]" for lib in ("numpy", "jax", "torch") if f"{lib}_us" in r},
                         "numpy / fastest peer": "-" if r["numpy_over_best_peer"] is None
                         else f"{r['numpy_over_best_peer']:.2f}"} for r in kernels]), "",
    ]
    md_path = write_markdown(
        out / "jacobian_peers.md", "A network's full Jacobian: chainopt vs JAX and PyTorch on one core", body,
        command="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python experiments/jacobian_peers.py"
        + (" --quick" if quick else ""), info=info)
    return {"paths": [csv_path, png_path, md_path], "reading": reading, "ratios": ratios, "notes": notes,
            "kernels": kernels}

"""PyTorch stages as factors, and a plan run with ``torch.func.jvp``/``torch.func.vjp`` under ``vmap``.

:func:`analyse` evaluates the stack once, stage by stage; each stage becomes
a function of flat vectors (its input and output tensors, or pytrees of
tensors, flattened leaf by leaf in C order). Each stage's factor:

* ``tangent`` / ``adjoint``: the flops ``torch.utils.flop_counter.FlopCounterMode``
  counts for one more direction pushed through ``vmap`` of ``jvp`` / of the
  ``vjp`` (two directions minus one, so the primal is not counted), halved
  into multiply-adds. The counter counts matrix products only: a stage with
  none (``Tanh``, ``ReLU``, ...) is charged one multiply-add per output
  entry per tangent and per input entry per adjoint (``counted``). With
  ``costs="time"`` the costs are measured times at the rate a 256 x 256
  matrix product runs.
* ``tape``: the entries of the tensors autograd saves for the stage's
  backward (``torch.autograd.graph.saved_tensors_hooks``).
* ``diagonal``: declared, or detected for square stages by probing the JVP
  on an all-ones and two random directions.

Two kinds of stage are **given** factors (their Jacobian is at hand, so the
plan preaccumulates them for free and the executor runs them as plain torch
operations, no ``torch.func`` transform): a ``torch.nn.Linear`` (no hooks) on
a vector, whose Jacobian is its ``weight`` (TAN is ``W @ V``, ADJ is
``U @ W``), and the elementwise ``nn.Tanh``, ``nn.Sigmoid``, ``nn.ReLU``,
``torch.tanh``, ``torch.sigmoid``, ``torch.relu``, whose diagonal comes from
the forward pass (``1 - y**2``, ``y * (1 - y)``, ``x > 0``) on every call.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.func as tf
from torch.utils import _pytree as pytree
from torch.utils.flop_counter import FlopCounterMode

from chainopt.core.factors import Factor

with warnings.catch_warnings():  # torch 2.13 warns about its own torch.jit.script when jvp's decompositions load
    warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=DeprecationWarning)
    import torch._decomp.decompositions_for_jvp  # noqa: F401
from chainopt.errors import ChainoptError
from chainopt.frontends.common import (
    StageInfo,
    looks_diagonal,
    madds_from_flops,
    median_seconds,
    shape_text,
    time_madds,
)
from chainopt.frontends.executor import fused_sweeps, run_plan

__all__ = ["flatten", "flat_stage", "analyse", "execute"]


def flatten(tree) -> tuple[torch.Tensor, object]:
    """A tensor or pytree of tensors as one flat vector, and how to rebuild it from one."""
    leaves, spec = pytree.tree_flatten(tree)
    if not leaves or not all(isinstance(leaf, torch.Tensor) for leaf in leaves):
        raise ChainoptError(f"expected a tensor or a pytree of tensors, got {type(tree).__name__}")
    shapes = [leaf.shape for leaf in leaves]
    sizes = [leaf.numel() for leaf in leaves]

    def unflatten(v):
        parts = torch.split(v, sizes) if len(sizes) > 1 else [v]
        return pytree.tree_unflatten([p.reshape(s) for p, s in zip(parts, shapes)], spec)

    flat = torch.cat([leaf.reshape(-1) for leaf in leaves]) if len(leaves) > 1 else leaves[0].reshape(-1)
    return flat, unflatten


def flat_stage(fn, example):
    """``fn`` as a function of the flat vector of ``example``'s kind, returning a flat vector."""
    if isinstance(example, torch.Tensor):  # the common case, without the pytree walk
        shape = example.shape
        if len(shape) == 1:  # a vector stage: no reshape (under vmap a reshape of a strided block copies)
            def flat(v):
                out = fn(v)
                return out if isinstance(out, torch.Tensor) and out.ndim == 1 else flatten(out)[0]

            return flat

        def flat(v):
            out = fn(v.reshape(shape))
            return out.reshape(-1) if isinstance(out, torch.Tensor) else flatten(out)[0]

        return flat
    _, unflatten = flatten(example)
    return lambda v: flatten(fn(unflatten(v)))[0]


def _tan(g, v, block):
    """``J @ block`` for a ``(n_in, c)`` block: ``vmap`` of ``jvp`` over its columns (made rows, contiguous)."""
    return tf.vmap(lambda t: tf.jvp(g, (v,), (t,))[1])(block.T.contiguous()).T


def _adj(vjp, block):
    return tf.vmap(lambda c: vjp(c)[0])(block)


def _marginal(run, make_block) -> int:
    """Multiply-adds FlopCounterMode counts for one direction: two directions minus one."""
    counts = []
    for c in (1, 2):
        block = make_block(c)
        with FlopCounterMode(display=False) as counter:
            run(block)
        counts.append(counter.get_total_flops())
    return madds_from_flops(counts[1] - counts[0])


def _tape(g, v) -> int:
    saved = []

    def pack(t):
        saved.append(t.numel())
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        g(v.detach().requires_grad_())
    return sum(saved)


def _seconds_per_madd(dtype) -> float:
    a = torch.ones(256, 256, dtype=dtype)
    return median_seconds(lambda: a @ a) / 256**3


#: Elementwise functions whose derivative the forward pass gives: name -> ``d(x, y)``.
DERIVATIVES = {
    "tanh": lambda x, y: 1 - y * y,
    "sigmoid": lambda x, y: y * (1 - y),
    "relu": lambda x, y: (x > 0).to(x.dtype),
}
_MODULES = {torch.nn.Tanh: "tanh", torch.nn.Sigmoid: "sigmoid", torch.nn.ReLU: "relu"}
_FUNCTIONS = {torch.tanh: "tanh", torch.sigmoid: "sigmoid", torch.relu: "relu",
              torch.nn.functional.relu: "relu"}


def given_kind(fn, example) -> tuple[str, object] | None:
    """``('linear', module)`` or ``('diagonal', name)`` if ``fn`` on ``example`` is a given factor, else ``None``.

    A given stage's Jacobian is at hand: a ``torch.nn.Linear`` (its own
    ``forward``, no hooks) applied to a vector has the Jacobian ``weight``;
    ``nn.Tanh``, ``nn.Sigmoid``, ``nn.ReLU`` (no hooks, not in place) and
    ``torch.tanh``, ``torch.sigmoid``, ``torch.relu`` have a diagonal Jacobian
    that :data:`DERIVATIVES` computes from the stage's input and output.

    Examples
    --------
    >>> import torch
    >>> given_kind(torch.nn.Tanh(), torch.ones(3)), given_kind(torch.sin, torch.ones(3))
    (('diagonal', 'tanh'), None)
    >>> given_kind(torch.nn.Linear(3, 2), torch.ones(3))[0], given_kind(torch.nn.Linear(3, 2), torch.ones(4, 3))
    ('linear', None)
    """
    if not isinstance(example, torch.Tensor):
        return None
    if isinstance(fn, torch.nn.Module):
        if fn._forward_hooks or fn._forward_pre_hooks or torch.nn.modules.module._global_forward_hooks \
                or torch.nn.modules.module._global_forward_pre_hooks:
            return None
        if type(fn) is torch.nn.Linear:
            ok = example.ndim == 1 and example.shape[0] == fn.in_features and fn.weight.dtype == example.dtype
            return ("linear", fn) if ok else None
        name = _MODULES.get(type(fn))
        if name is None or getattr(fn, "inplace", False):
            return None
        return "diagonal", name
    try:
        name = _FUNCTIONS.get(fn)
    except TypeError:  # an unhashable callable
        return None
    return None if name is None else ("diagonal", name)


def _given_factor(kind, n_in: int, n_out: int) -> tuple[Factor, str]:
    if kind[0] == "linear":
        return Factor(n_in=n_in, n_out=n_out, given=True), "given (Linear: its weight)"
    source = f"given ({kind[1]}: diagonal from the forward pass)"
    return Factor(n_in=n_in, n_out=n_out, given=True, diagonal=True), source


def analyse(stages, x, *, costs: str = "flops", seed: int = 0):
    """Flat stage functions, flat inputs ``v_k``, one :class:`StageInfo` per stage (with its factor), and kinds.

    ``kinds[k]`` is :func:`given_kind` of stage ``k`` (``None`` unless a
    declared structure leaves it undetermined: a stage declared not diagonal
    is never given, one declared diagonal only as a diagonal).
    """
    flats, inputs, infos, kinds = [], [], [], []
    v, current = flatten(x)[0], x
    if not v.is_floating_point():
        raise ChainoptError(f"x has dtype {v.dtype}; differentiate floating-point tensors")
    dtype = v.dtype
    per_madd = _seconds_per_madd(dtype) if costs == "time" else None
    gen = torch.Generator().manual_seed(seed)
    for k, stage in enumerate(stages, start=1):
        in_shapes = [leaf.shape for leaf in pytree.tree_leaves(current)]
        g = flat_stage(stage.fn, current)
        try:
            with torch.no_grad():
                out = stage.fn(current)
            y = flatten(out)[0]
        except Exception as exc:  # a stage is user code: name it, keep its own message
            raise ChainoptError(f"stage {k} ({stage.label}) failed on its input of shape "
                                f"{shape_text(in_shapes)}: {type(exc).__name__}: {exc}") from exc
        n_in, n_out = v.numel(), y.numel()
        kind = given_kind(stage.fn, current) if stage.diagonal is not False else None
        if kind is not None and (kind[0] == "diagonal" or stage.diagonal is None):
            factor, source = _given_factor(kind, n_in, n_out)
        else:
            kind = None
            _, vjp = tf.vjp(g, v)
            if costs == "time":
                t_block = torch.ones(n_in, min(n_in, 64), dtype=dtype)
                a_block = torch.ones(min(n_out, 64), n_out, dtype=dtype)
                tangent = time_madds(median_seconds(lambda: _tan(g, v, t_block)) / t_block.shape[1], per_madd)
                adjoint = time_madds(median_seconds(lambda: _adj(vjp, a_block)) / a_block.shape[0], per_madd)
                source = "time"
            else:
                tangent = _marginal(lambda b: _tan(g, v, b), lambda c: torch.ones(n_in, c, dtype=dtype))
                adjoint = _marginal(lambda b: _adj(vjp, b), lambda c: torch.ones(c, n_out, dtype=dtype))
                source = "flops"
                if tangent == 0 and adjoint == 0:
                    tangent, adjoint, source = n_out, n_in, "counted"
            diagonal = stage.diagonal
            if diagonal is None:
                diagonal = n_in == n_out and _probe(g, v, gen)
                source += " + diagonal (detected)" if diagonal else ""
            elif diagonal:
                if n_in != n_out:
                    raise ChainoptError(f"stage {k} ({stage.label}) is declared diagonal but maps {n_in} numbers "
                                        f"to {n_out}")
                if not _probe(g, v, gen):
                    raise ChainoptError(f"stage {k} ({stage.label}) is declared elementwise, but its Jacobian at this "
                                        "point is not diagonal (a probe with random directions); drop the declaration")
                source += " + diagonal (declared)"
            factor = Factor(n_in=n_in, n_out=n_out, tangent=tangent, adjoint=adjoint, tape=_tape(g, v),
                            diagonal=diagonal)
        out_shapes = [leaf.shape for leaf in pytree.tree_leaves(out)]
        infos.append(StageInfo(stage.label, shape_text(in_shapes), shape_text(out_shapes), factor, source))
        flats.append(g)
        inputs.append(v)
        kinds.append(kind)
        v, current = y, out
    return flats, inputs, infos, kinds


def _probe(g, v, gen) -> bool:
    n = v.numel()
    directions = torch.cat([torch.ones(n, 1, dtype=v.dtype), torch.randn(n, 2, generator=gen, dtype=v.dtype)], 1)
    with torch.no_grad():
        images = _tan(g, v, directions)
    return looks_diagonal(images.detach().cpu().numpy(), directions.numpy(),
                          rtol=1e3 * float(np.finfo(np.dtype(str(v.dtype).split(".")[-1])).eps))


def _through(flats, first: int, last: int):
    """The flat stages ``first..last`` (0-based, inclusive) as one function."""
    if first == last:
        return flats[first]

    def composite(v):
        for g in flats[first:last + 1]:
            v = g(v)
        return v

    return composite


def _runs(kinds, first: int, last: int) -> list[tuple[int, int]]:
    """``first..last`` split into given stages (one each) and maximal runs of the others, in order."""
    runs, k = [], first
    while k <= last:
        end = k
        if kinds[k] is None:
            while end + 1 <= last and kinds[end + 1] is None:
                end += 1
        runs.append((k, end))
        k = end + 1
    return runs


class _Provider:
    """TAN and ADJ blocks: plain products for given stages, one ``vmap`` call per run of the others (``fuses``)."""

    fuses = True

    def __init__(self, flats, kinds, inputs, vjps, diags, like):
        self.flats, self.kinds, self.inputs, self.vjps, self.diags = flats, kinds, inputs, vjps, diags
        self.like = like

    def jacobian(self, k):
        """A given stage's Jacobian: a ``Linear``'s weight, or an elementwise stage's diagonal (1-D)."""
        kind = self.kinds[k]
        return kind[1].weight if kind[0] == "linear" else self.diags[k]

    def tangent(self, k, block, last=None):
        for lo, hi in _runs(self.kinds, k, k if last is None else last):
            kind = self.kinds[lo]
            if kind is None:
                block = _tan(_through(self.flats, lo, hi), self.inputs[lo], block)
            elif kind[0] == "linear":
                block = kind[1].weight @ block
            else:
                block = self.diags[lo][:, None] * block
        return block

    def adjoint(self, k, block, first=None):
        for lo, hi in reversed(_runs(self.kinds, k if first is None else first, k)):
            kind = self.kinds[lo]
            if kind is None:
                block = _adj(self.vjps[(lo, hi)], block)
            elif kind[0] == "linear":
                block = block @ kind[1].weight
            else:
                block = block * self.diags[lo][None, :]
        return block

    def eye(self, n):
        return torch.eye(n, dtype=self.like.dtype, device=self.like.device)

    def ones(self, rows, cols):
        return torch.ones(rows, cols, dtype=self.like.dtype, device=self.like.device)

    def diag(self, d):
        return torch.diag(d)


def execute(plan, flats, kinds, x):
    """The ``(n_out, n_in)`` Jacobian at ``x`` by ``plan``, through the flat stages of :func:`analyse`.

    One forward pass (``torch.func.vjp`` through each run of stages that
    are not given in the ranges the plan pulls rows back through, the
    diagonal of each given elementwise stage from its input and output),
    then the plan's operations.
    """
    fused = fused_sweeps(plan)
    pulls = {}  # first stage -> last stage of each range pulled back through at once
    for index, (op, lo, _, hi) in enumerate(plan.operations):
        if op == "ADJ":
            pulls.setdefault(lo, lo)
        elif op == "ACC" and plan.steps[index].mode == "ADJ":
            pulls[lo] = lo
    for index, (end, through, mode) in fused.items():
        lo = plan.operations[index][1]
        if mode == "ADJ":
            for k in range(through, lo + 1):
                pulls.pop(k, None)
            pulls[through] = lo
    vjp_runs = {lo: hi for first, last in pulls.items() for lo, hi in _runs(kinds, first, last)
                if kinds[lo] is None}
    inputs, vjps, diags = [None] * len(flats), {}, {}
    v, k, last = flatten(x)[0], 0, len(flats) - 1
    while k <= last:
        inputs[k] = v
        kind = kinds[k]
        if k in vjp_runs:
            end = vjp_runs[k]
            v, vjps[(k, end)] = tf.vjp(_through(flats, k, end), v)
            k = end + 1
            continue
        if kind is not None and kind[0] == "diagonal":
            y = flats[k](v)
            diags[k] = DERIVATIVES[kind[1]](v, y)
            v = y
        elif k < last:
            v = flats[k](v)
        k += 1
    return run_plan(plan, _Provider(flats, kinds, inputs, vjps, diags, inputs[0]))

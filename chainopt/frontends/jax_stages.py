"""JAX stages as factors, and a plan run as one jit-compiled function of ``jax.jvp``/``jax.vjp``.

:func:`analyse` evaluates the stack once, stage by stage. Each stage becomes
a function of flat vectors (``jax.flatten_util.ravel_pytree`` of its input
and output) whose closed-over arrays are hoisted out as arguments (the
constants of ``jax.make_jaxpr``), so the compiled plan takes the weights as
arguments instead of folding them into the program. Each stage's factor:

* ``tangent``: the flops XLA's cost analysis counts in the stage's linearized
  JVP (``jax.linearize``), ``adjoint``: in its VJP (``jax.vjp``), both for one
  direction and halved into multiply-adds; or, with ``costs="time"``, their
  measured times at the rate a 256 x 256 matrix product runs;
* ``tape``: the entries of the residuals the VJP keeps (its pytree's leaves);
* ``diagonal``: declared by the user, or detected when the stage is square by
  probing its JVP on an all-ones and two random directions.

:func:`compile_plan` builds ``run(consts, x)``: the forward pass, linearizing
or pulling back only the stages the plan needs, then
:func:`chainopt.frontends.common.run_plan` with TAN as ``vmap`` of the
linearized JVP over a block of columns and ADJ as ``vmap`` of the VJP over a
block of rows, all inside one ``jax.jit``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr, jaxpr_as_fun
from jax.flatten_util import ravel_pytree

from chainopt.core.factors import Factor
from chainopt.errors import ChainoptError
from chainopt.frontends.common import (
    StageInfo,
    looks_diagonal,
    madds_from_flops,
    median_seconds,
    shape_text,
    time_madds,
)
from chainopt.frontends.executor import run_plan

__all__ = ["FlatStage", "analyse", "compile_plan", "flat_input"]


class FlatStage:
    """One stage as ``R^n_in -> R^n_out`` with its closed-over arrays as explicit arguments."""

    def __init__(self, stage, example):
        self.stage = stage
        _, unravel = ravel_pytree(example)
        self.unravel = unravel

        def flat(v):
            return ravel_pytree(stage.fn(unravel(v)))[0]

        self.flat = flat
        self.in_shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(example)]

    def trace(self, v):
        """Trace at ``v``: keeps the jaxpr and its constants (the weights)."""
        closed = jax.make_jaxpr(self.flat)(v)
        self.jaxpr, self.consts = closed.jaxpr, list(closed.consts)

    def at(self, consts):
        """The flat stage as a function of its input, with the constants ``consts``."""
        run = jaxpr_as_fun(ClosedJaxpr(self.jaxpr, consts))
        return lambda v: run(v)[0]


def flat_input(x):
    """``x`` (an array or a pytree of arrays) as one flat vector, and checks it holds floats."""
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves:
        raise ChainoptError(f"x has no arrays in it: {x!r}")
    for leaf in leaves:
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            raise ChainoptError(f"x holds an array of dtype {jnp.result_type(leaf)}; differentiate floats")
    return ravel_pytree(x)[0]


def _flops(fn, *args) -> float:
    """Flops XLA's cost analysis counts for ``fn(*args)`` (lowered, not compiled)."""
    analysis = jax.jit(fn).lower(*args).cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    return float((analysis or {}).get("flops", 0.0))


def _apply_lin(lin, t):
    return lin(t)


def _apply_vjp(vjp, c):
    return vjp(c)[0]


def _seconds_per_madd(dtype) -> float:
    a = jnp.ones((256, 256), dtype)
    mm = jax.jit(lambda a: a @ a)
    return median_seconds(lambda: mm(a).block_until_ready()) / 256**3


def _directions(n: int, dtype, seed: int):
    """An all-ones and two seeded random directions, ``(n, 3)``: a diagonal Jacobian's probe."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(np.concatenate([np.ones((n, 1)), rng.standard_normal((n, 2))], axis=1).astype(dtype))


def _at_point(flat):
    """One compiled function per stage: its output, linearized JVP, VJP and the probe's images at ``v``."""

    def at(v, consts, directions):
        f = flat.at(consts)
        y, lin = jax.linearize(f, v)
        _, vjp = jax.vjp(f, v)
        images = None if directions is None else jax.vmap(lin, in_axes=1, out_axes=1)(directions)
        return y, lin, vjp, images, flat.stage.fn(flat.unravel(v))

    return jax.jit(at)


def analyse(stages, x, *, costs: str = "flops", seed: int = 0):
    """The flat stages of a stack at ``x``, and one :class:`StageInfo` (with its factor) per stage.

    Evaluates the stack once (eagerly, stage by stage); nothing is compiled
    but the cost analysis of each stage's JVP and VJP (lowered only).
    """
    flats, infos = [], []
    current = x
    v = flat_input(x)
    dtype = np.dtype(v.dtype)
    per_madd = _seconds_per_madd(dtype) if costs == "time" else None
    for k, stage in enumerate(stages, start=1):
        flat = FlatStage(stage, current)
        try:
            flat.trace(v)
        except Exception as exc:  # a stage is user code: name it, keep its own message
            raise ChainoptError(f"stage {k} ({stage.label}) failed on its input of shape "
                                f"{shape_text(flat.in_shapes)}: {type(exc).__name__}: {exc}") from exc
        out_leaves = jax.tree_util.tree_leaves(jax.eval_shape(flat.at(flat.consts), v))
        n_in, n_out = int(v.size), sum(int(np.prod(leaf.shape)) for leaf in out_leaves)
        probe = stage.diagonal is not False and n_in == n_out  # declared diagonal stages are checked too
        directions = _directions(n_in, dtype, seed + k) if probe else None
        y, lin, vjp, images, out = _at_point(flat)(v, flat.consts, directions)
        out_shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(out)]
        if n_out == 0:
            raise ChainoptError(f"stage {k} ({stage.label}) returns no numbers")
        tape = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(vjp))
        if costs == "time":
            t_block = jnp.ones((n_in, min(n_in, 64)), dtype)
            a_block = jnp.ones((min(n_out, 64), n_out), dtype)
            tan = jax.jit(lambda f, b: jax.vmap(f, in_axes=1, out_axes=1)(b))
            adj = jax.jit(lambda f, b: jax.vmap(lambda c: f(c)[0])(b))
            t_sec = median_seconds(lambda: tan(lin, t_block).block_until_ready()) / t_block.shape[1]
            a_sec = median_seconds(lambda: adj(vjp, a_block).block_until_ready()) / a_block.shape[0]
            tangent, adjoint, source = time_madds(t_sec, per_madd), time_madds(a_sec, per_madd), "time"
        else:
            tangent = madds_from_flops(_flops(_apply_lin, lin, v))
            adjoint = madds_from_flops(_flops(_apply_vjp, vjp, y))
            source = "flops"
        diagonal = stage.diagonal
        if diagonal is None:
            diagonal = probe and looks_diagonal(np.asarray(images), np.asarray(directions),
                                                rtol=1e3 * float(np.finfo(dtype).eps))
            source += " + diagonal (detected)" if diagonal else ""
        elif diagonal:
            if n_in != n_out:
                raise ChainoptError(f"stage {k} ({stage.label}) is declared diagonal but maps {n_in} numbers "
                                    f"to {n_out}")
            if not looks_diagonal(np.asarray(images), np.asarray(directions), rtol=1e3 * float(np.finfo(dtype).eps)):
                raise ChainoptError(f"stage {k} ({stage.label}) is declared elementwise, but its Jacobian at this "
                                    "point is not diagonal (a probe with random directions); drop the declaration")
            source += " + diagonal (declared)"
        factor = Factor(n_in=n_in, n_out=n_out, tangent=tangent, adjoint=adjoint, tape=tape, diagonal=diagonal)
        infos.append(StageInfo(stage.label, shape_text(flat.in_shapes), shape_text(out_shapes), factor, source))
        flats.append(flat)
        current, v = out, y
    return flats, infos


class _Provider:
    """TAN, ADJ and ACC blocks through the linearized stages, inside the jit."""

    def __init__(self, lins, vjps, dtype):
        self.lins, self.vjps, self.dtype = lins, vjps, dtype

    def tangent(self, k, block):
        return jax.vmap(self.lins[k], in_axes=1, out_axes=1)(block)

    def adjoint(self, k, block):
        vjp = self.vjps[k]
        return jax.vmap(lambda c: vjp(c)[0])(block)

    def eye(self, n):
        return jnp.eye(n, dtype=self.dtype)

    def ones(self, rows, cols):
        return jnp.ones((rows, cols), self.dtype)

    def diag(self, d):
        return jnp.diag(d)


def compile_plan(plan, flats):
    """``jax.jit`` of ``run(consts, x)``: the Jacobian of the stack at ``x`` (flattened inside the program).

    The input is flattened inside the jitted function, so a warm call is one
    dispatch of the compiled program (a ``Compiled`` object's ``__call__``
    and an eager ``ravel_pytree`` cost hundreds of µs more per call).
    """
    need_tan, need_adj = set(), set()
    for op, lo, _, hi in plan.operations:
        if op == "TAN":
            need_tan.add(hi)
        elif op == "ADJ":
            need_adj.add(lo)
    for step in plan.steps:
        if step.op == "ACC":
            (need_tan if step.mode == "TAN" else need_adj).add(step.factors[0] - 1)
    last = len(flats) - 1

    def run(consts, x):
        v = ravel_pytree(x)[0]
        dtype, lins, vjps = v.dtype, {}, {}
        for k, flat in enumerate(flats):
            f = flat.at(consts[k])
            y = None
            if k in need_tan:
                y, lins[k] = jax.linearize(f, v)
            if k in need_adj:
                y, vjps[k] = jax.vjp(f, v)
            if y is None and k < last:
                y = f(v)
            v = y
        return run_plan(plan, _Provider(lins, vjps, dtype))

    return jax.jit(run)

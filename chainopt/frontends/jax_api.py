"""The Jacobian of a JAX stack of stages in the best order: :func:`jacobian`, :func:`plan`, :class:`Jacobian`.

``jacobian(stages, x)`` is the Jacobian of ``stages[-1] o ... o stages[0]``
at ``x``, equal to ``jax.jacfwd`` and ``jax.jacrev`` of the composition but
computed in the order chainopt's generalized DP finds cheapest: a mixture
of forward mode (``jax.jvp``, column by column), reverse mode (``jax.vjp``,
row by row), preaccumulated stage Jacobians and matrix products. Inputs and
outputs are flattened (pytrees leaf by leaf), so the result is always the
2-D ``(n_out, n_in)`` array; ``J.reshape(y.shape + x.shape)`` gives
``jacfwd``'s layout for array input and output.

For given input shapes the whole plan is one ``jax.jit``-compiled function,
compiled on the first call and cached: later calls trace nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import jax
import numpy as np

from chainopt.frontends import jax_stages
from chainopt.frontends.common import FrameworkPlan, Stage, as_stages, check_options, elementwise

__all__ = ["Jacobian", "jacobian", "plan", "Stage", "elementwise"]

#: How many (stack, options) pairs :func:`jacobian` and :func:`plan` keep compiled, like ``jax.jit``'s cache.
CACHE_SIZE = 32
_CACHE: OrderedDict = OrderedDict()


class Jacobian:
    """The Jacobian of a stack as a function of ``x``: a transform, like ``jax.jacfwd(f)``.

    Parameters
    ----------
    stages : sequence of callable or Stage
        ``f_1, ..., f_q``, applied first to last; each takes the previous
        one's output (an array or a pytree). Wrap a stage in
        :func:`elementwise` (or ``Stage(fn, diagonal=...)``) to declare its
        structure instead of probing it.
    strategy : {'optimal', 'fwd', 'bwd', 'preaccumulate'}
        ``'fwd'`` is forward mode everywhere (what ``jax.jacfwd`` does),
        ``'bwd'`` reverse mode everywhere (``jax.jacrev``).
    memory_limit : int or None, keyword-only
        Tape entries one stage's VJP may keep (``None``: unlimited).
    costs : {'flops', 'time'}, keyword-only
        Stage costs from XLA's flop count (default) or from timing them.

    Attributes
    ----------
    first_calls : list of dict
        One entry per input shape compiled: ``shape``, ``plan_seconds``
        (evaluating and costing the stages, planning) and
        ``compile_seconds`` (tracing and compiling the plan).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> jax.config.update("jax_enable_x64", True)
    >>> W1, W2 = jnp.arange(12.0).reshape(4, 3) / 10, jnp.ones((2, 4))
    >>> jac = Jacobian([lambda x: W1 @ x, jnp.tanh, lambda x: W2 @ x])
    >>> J = jac(jnp.ones(3))
    >>> J.shape, bool(jnp.allclose(J, jax.jacfwd(lambda x: W2 @ jnp.tanh(W1 @ x))(jnp.ones(3))))
    ((2, 3), True)
    >>> str(jac.plan(jnp.ones(3)).plan)
    '(A3 F2) F1'
    """

    def __init__(self, stages, strategy: str = "optimal", *, memory_limit: int | None = None, costs: str = "flops"):
        strategy = check_options(strategy, memory_limit, costs)
        self.stages = as_stages(stages)
        self.strategy, self.memory_limit, self.costs = strategy, memory_limit, costs
        self.first_calls: list[dict] = []
        self._plans: dict = {}
        self._analyses: dict = {}  # input shape -> the stages' analysis (shared by the cached transforms)
        self._compiled: dict = {}  # input key -> (jitted plan, its constants)
        self._fast: dict = {}  # (shape, dtype) of an array input -> the same, found without the pytree walk

    @staticmethod
    def _key(x):
        leaves, treedef = jax.tree_util.tree_flatten(x)
        return treedef, tuple((np.shape(leaf), str(jax.numpy.result_type(leaf))) for leaf in leaves)

    def _analysed(self, x):
        key = self._key(x)
        if key not in self._plans:
            start = time.perf_counter()
            if key not in self._analyses:
                self._analyses[key] = jax_stages.analyse(self.stages, x, costs=self.costs)
            flats, infos = self._analyses[key]
            planned = FrameworkPlan.build("jax", infos, self.strategy, self.memory_limit)
            self._plans[key] = (planned, flats, time.perf_counter() - start)
        return key, self._plans[key]

    def plan(self, x) -> FrameworkPlan:
        """The plan for input ``x`` and its report (``print`` it); the Jacobian is not computed."""
        return self._analysed(x)[1][0]

    def lower(self, x):
        """The plan's program for ``x``, lowered: a ``jax.stages.Lowered``, as ``jax.jit(f).lower(x)`` gives.

        ``.compile().as_text()`` is the HLO XLA runs, ``.cost_analysis()``
        its flop count. A pure forward (reverse) plan compiles to the dot
        products ``jax.jit(jax.jacfwd(f))`` (``jacrev``) compiles to.

        Examples
        --------
        >>> import jax, jax.numpy as jnp
        >>> jax.config.update("jax_enable_x64", True)
        >>> W = jnp.ones((3, 2))
        >>> "dot(" in Jacobian([lambda x: W @ x, jnp.tanh], "fwd").lower(jnp.ones(2)).compile().as_text()
        True
        """
        key, (planned, flats, _) = self._analysed(x)
        consts = [flat.consts for flat in flats]
        run = self._compiled[key][0] if key in self._compiled else jax_stages.compile_plan(planned.plan, flats)
        return run.lower(consts, x)

    def __call__(self, x):
        """The ``(n_out, n_in)`` Jacobian at ``x``, a ``jax.Array``."""
        fast = (x.shape, x.dtype) if isinstance(x, jax.Array) else None
        hit = self._fast.get(fast)
        if hit is not None:  # the warm path: one dispatch of the jitted plan (jax.jit's C++ path), no pytree walk
            run, consts = hit
            return run(consts, x)
        key, (planned, flats, plan_seconds) = self._analysed(x)
        if key not in self._compiled:
            jax_stages.flat_input(x)  # checks x holds floats
            start = time.perf_counter()
            consts = [flat.consts for flat in flats]
            run = jax_stages.compile_plan(planned.plan, flats)
            result = run(consts, x).block_until_ready()
            self._compiled[key] = (run, consts)
            self.first_calls.append({"shape": key[1], "plan_seconds": plan_seconds,
                                     "compile_seconds": time.perf_counter() - start})
            if fast is not None:
                self._fast[fast] = self._compiled[key]
            return result
        if fast is not None:
            self._fast[fast] = self._compiled[key]
        run, consts = self._compiled[key]
        return run(consts, x)


def _cached(stages, strategy, memory_limit, costs) -> Jacobian:
    strategy = check_options(strategy, memory_limit, costs)
    stages = as_stages(stages)
    key = (stages, strategy, memory_limit, costs)
    try:
        hit = _CACHE.get(key)
    except TypeError:  # an unhashable stage: no caching
        return Jacobian(stages, strategy, memory_limit=memory_limit, costs=costs)
    if hit is None:
        hit = _CACHE[key] = Jacobian(stages, strategy, memory_limit=memory_limit, costs=costs)
        for other in _CACHE.values():  # the same stack and costs under another strategy: analysed already
            if other is not hit and other.stages == hit.stages and other.costs == costs:
                hit._analyses = other._analyses
                break
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return hit


def jacobian(stages, x, strategy: str = "optimal", *, memory_limit: int | None = None, costs: str = "flops"):
    """The ``(n_out, n_in)`` Jacobian of ``stages[-1] o ... o stages[0]`` at ``x``, in the best order.

    Equal to ``jax.jacfwd``/``jax.jacrev`` of the composition (flattened to
    2-D). The compiled plan is cached for the same stage objects, options
    and input shapes, so a second call traces nothing (see :class:`Jacobian`
    for the options and for a transform that holds its own cache).

    Raises
    ------
    ChainoptError
        An unknown strategy or costs, a bad memory limit, a stage that is not
        callable or fails on its input (the message names the stage).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> jax.config.update("jax_enable_x64", True)
    >>> W = jnp.arange(6.0).reshape(2, 3)
    >>> jacobian([lambda x: W @ x, jnp.sin], jnp.zeros(3), "bwd")
    Array([[0., 1., 2.],
           [3., 4., 5.]], dtype=float64)
    """
    return _cached(stages, strategy, memory_limit, costs)(x)


def plan(stages, x, strategy: str = "optimal", *, memory_limit: int | None = None,
         costs: str = "flops") -> FrameworkPlan:
    """The plan :func:`jacobian` would run, with its report; nothing is computed but the stage costs.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> jax.config.update("jax_enable_x64", True)
    >>> W = jnp.ones((2, 50))
    >>> p = plan([jnp.tanh, lambda x: W @ x], jnp.zeros(50))
    >>> str(p.plan), p.cost, [s.factor.diagonal for s in p.stages]
    ('A2 F1', 350, [True, False])
    """
    return _cached(stages, strategy, memory_limit, costs).plan(x)


# Stage and elementwise are shared with chainopt.torch; re-exported for ``cjax.elementwise``.
Stage = Stage
elementwise = elementwise

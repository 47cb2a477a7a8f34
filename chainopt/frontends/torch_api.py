"""The Jacobian of a PyTorch stack of stages in the best order: :func:`jacobian`, :func:`plan`, :class:`Jacobian`.

``jacobian(model, x)`` is the Jacobian of an ``nn.Sequential`` (or of a list
of modules and callables, applied first to last) at ``x``, equal to
``torch.func.jacfwd`` and ``torch.func.jacrev`` of the composition but
computed in the order chainopt's generalized DP finds cheapest: a mixture of
forward mode (``torch.func.jvp``, column by column), reverse mode
(``torch.func.vjp``, row by row), preaccumulated stage Jacobians and matrix
products. Inputs and outputs are flattened (tensors in C order, pytrees leaf
by leaf), so the result is always the 2-D ``(n_out, n_in)`` tensor;
``J.reshape(y.shape + x.shape)`` gives ``jacfwd``'s layout.

A ``torch.nn.Linear`` applied to a vector and the elementwise ``nn.Tanh``,
``nn.Sigmoid``, ``nn.ReLU`` (or ``torch.tanh``, ``torch.sigmoid``,
``torch.relu``) are *given* factors: their Jacobian is the weight, or a
diagonal computed from the forward pass, so they run as plain torch products
with no ``torch.func`` transform. Other stages go through ``torch.func``.

The stages' costs and the plan are found on the first call for an input
shape and cached; later calls run the plan only.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import torch

from chainopt.frontends import torch_stages
from chainopt.frontends.common import FrameworkPlan, Stage, as_stages, check_options, elementwise

__all__ = ["Jacobian", "jacobian", "plan", "Stage", "elementwise"]

#: How many (stack, options) pairs :func:`jacobian` and :func:`plan` keep planned.
CACHE_SIZE = 32
_CACHE: OrderedDict = OrderedDict()


def _stage_list(model):
    if isinstance(model, torch.nn.Sequential):
        return list(model)
    return model


class Jacobian:
    """The Jacobian of a stack as a function of ``x``: a transform, like ``torch.func.jacfwd(f)``.

    Parameters
    ----------
    model : torch.nn.Sequential or sequence of callable or Stage
        The stages, applied first to last. Wrap a stage in
        :func:`elementwise` (or ``Stage(fn, diagonal=...)``) to declare its
        structure instead of probing it.
    strategy : {'optimal', 'fwd', 'bwd', 'preaccumulate'}
        ``'fwd'`` is forward mode everywhere (what ``torch.func.jacfwd``
        does), ``'bwd'`` reverse mode everywhere (``torch.func.jacrev``).
    memory_limit : int or None, keyword-only
        Tensor entries autograd may save for one stage's backward (``None``: unlimited).
    costs : {'flops', 'time'}, keyword-only
        Stage costs from ``FlopCounterMode`` (default) or from timing them.

    Attributes
    ----------
    first_calls : list of dict
        One entry per input shape planned: ``shape`` and ``plan_seconds``
        (evaluating and costing the stages, planning).

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    >>> x = torch.ones(3, dtype=torch.float64)
    >>> J = Jacobian(model)(x)
    >>> J.shape, torch.allclose(J, torch.func.jacrev(model)(x))
    (torch.Size([2, 3]), True)
    """

    def __init__(self, model, strategy: str = "optimal", *, memory_limit: int | None = None, costs: str = "flops"):
        strategy = check_options(strategy, memory_limit, costs)
        self.stages = as_stages(_stage_list(model))
        self.strategy, self.memory_limit, self.costs = strategy, memory_limit, costs
        self.first_calls: list[dict] = []
        self._plans: dict = {}
        self._analyses: dict = {}  # input shape -> the stages' analysis (shared by the cached transforms)

    @staticmethod
    def _key(x):
        leaves, spec = torch.utils._pytree.tree_flatten(x)
        return str(spec), tuple((tuple(getattr(leaf, "shape", ())), str(getattr(leaf, "dtype", type(leaf))))
                                for leaf in leaves)

    def _analysed(self, x):
        key = self._key(x)
        if key not in self._plans:
            start = time.perf_counter()
            if key not in self._analyses:
                self._analyses[key] = torch_stages.analyse(self.stages, x, costs=self.costs)
            flats, _, infos, kinds = self._analyses[key]
            planned = FrameworkPlan.build("torch", infos, self.strategy, self.memory_limit)
            self._plans[key] = (planned, flats, kinds)
            self.first_calls.append({"shape": key[1], "plan_seconds": time.perf_counter() - start})
        return self._plans[key]

    def plan(self, x) -> FrameworkPlan:
        """The plan for input ``x`` and its report (``print`` it); the Jacobian is not computed."""
        return self._analysed(x)[0]

    def __call__(self, x) -> torch.Tensor:
        """The ``(n_out, n_in)`` Jacobian at ``x``."""
        planned, flats, kinds = self._analysed(x)
        return torch_stages.execute(planned.plan, flats, kinds, x)


def _cached(model, strategy, memory_limit, costs) -> Jacobian:
    strategy = check_options(strategy, memory_limit, costs)
    stages = as_stages(_stage_list(model))
    key = (stages, strategy, memory_limit, costs)
    try:
        hit = _CACHE.get(key)
    except TypeError:  # an unhashable stage: no caching
        return Jacobian(list(stages), strategy, memory_limit=memory_limit, costs=costs)
    if hit is None:
        hit = _CACHE[key] = Jacobian(list(stages), strategy, memory_limit=memory_limit, costs=costs)
        for other in _CACHE.values():  # the same stack and costs under another strategy: analysed already
            if other is not hit and other.stages == hit.stages and other.costs == costs:
                hit._analyses = other._analyses
                break
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return hit


def jacobian(model, x, strategy: str = "optimal", *, memory_limit: int | None = None,
             costs: str = "flops") -> torch.Tensor:
    """The ``(n_out, n_in)`` Jacobian of a stack at ``x``, in the best order.

    Equal to ``torch.func.jacfwd``/``jacrev`` of the composition (flattened
    to 2-D). The plan is cached for the same stage objects, options and
    input shapes (see :class:`Jacobian` for the options).

    Raises
    ------
    ChainoptError
        An unknown strategy or costs, a bad memory limit, a stage that is not
        callable or fails on its input (the message names the stage).

    Examples
    --------
    >>> import torch
    >>> W = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    >>> jacobian([lambda x: W @ x, torch.sin], torch.zeros(3, dtype=torch.float64), "bwd")
    tensor([[0., 1., 2.],
            [3., 4., 5.]], dtype=torch.float64)
    """
    return _cached(model, strategy, memory_limit, costs)(x)


def plan(model, x, strategy: str = "optimal", *, memory_limit: int | None = None,
         costs: str = "flops") -> FrameworkPlan:
    """The plan :func:`jacobian` would run, with its report; nothing is computed but the stage costs.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(50, 2))
    >>> p = plan(model, torch.zeros(50))
    >>> str(p.plan), p.cost, [(s.factor.diagonal, s.factor.given) for s in p.stages]
    ('A2 A1', 100, [(True, True), (False, True)])
    """
    return _cached(model, strategy, memory_limit, costs).plan(x)


# Stage and elementwise are shared with chainopt.jax; re-exported for ``ctorch.elementwise``.
Stage = Stage
elementwise = elementwise


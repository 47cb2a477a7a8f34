"""Automatic differentiation on a computational graph: the notes' tangent and adjoint sweeps.

Modules, each importing only the ones above it:

- ``partials``: a local derivative as a linear map (``Partial``) and the
  broadcasting rules tangents and adjoints follow;
- ``graph``: the nodes, each operation's value and local partials side by side
  (the elementwise ones wrap :data:`chainopt.layers.ELEMENTWISE`, the one table);
- ``sweeps``: the tangent and adjoint sweeps as mirror images, the traced
  graph (``Trace``) and the full Jacobian by sweeps;
- ``transforms``: ``jvp``, ``vjp``, ``grad``, ``jacobian`` on plain functions;
- ``syntax`` and ``expr``: the safe expression language behind ``chainopt sweep``
  (parsing and validation; evaluation into a graph and rendering);
- ``layered``: the ``chain:n_1,...,n_N`` functions (the mlp of those dims) and
  what sweeping them will need.
"""

from chainopt.autodiff.graph import *  # noqa: F403 (the graph's public names, listed in its __all__)
from chainopt.autodiff.graph import __all__ as _graph_all
from chainopt.autodiff.sweeps import (
    MODES,
    JacobianResult,
    Sweep,
    Trace,
    adjoint_sweep,
    tangent_sweep,
    topological_order,
    trace,
)
from chainopt.autodiff.transforms import grad, jacobian, jvp, vjp

__all__ = [
    *_graph_all,
    "topological_order",
    "Sweep",
    "tangent_sweep",
    "adjoint_sweep",
    "Trace",
    "trace",
    "jvp",
    "vjp",
    "grad",
    "JacobianResult",
    "jacobian",
    "MODES",
]

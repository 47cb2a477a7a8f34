"""Automatic differentiation on a computational graph: the notes' tangent and adjoint sweeps.

``graph`` holds the nodes and their local partials, ``sweeps`` the two sweeps
written as mirror images (plus ``grad``, ``jvp``, ``vjp``, ``jacobian``), and
``expr`` the safe expression parser behind ``chainopt sweep``.
"""

from chainopt.autodiff.graph import *  # noqa: F403 (the graph's public names, listed in its __all__)
from chainopt.autodiff.graph import __all__ as _graph_all
from chainopt.autodiff.sweeps import (
    MODES,
    JacobianResult,
    Sweep,
    Trace,
    adjoint_sweep,
    grad,
    jacobian,
    jvp,
    tangent_sweep,
    topological_order,
    trace,
    vjp,
)

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

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

from chainopt.autodiff.graph import (
    ELEMENTWISE,
    Node,
    Partial,
    add,
    asinh,
    constant,
    cos,
    divide,
    dot,
    exp,
    log,
    matmul,
    multiply,
    negative,
    power,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    subtract,
    sum,
    tan,
    tanh,
    transpose,
    value_of,
    variable,
)
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
    "ELEMENTWISE",
    "MODES",
    "JacobianResult",
    "Node",
    "Partial",
    "Sweep",
    "Trace",
    "add",
    "adjoint_sweep",
    "asinh",
    "constant",
    "cos",
    "divide",
    "dot",
    "exp",
    "grad",
    "jacobian",
    "jvp",
    "log",
    "matmul",
    "multiply",
    "negative",
    "power",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "subtract",
    "sum",
    "tan",
    "tangent_sweep",
    "tanh",
    "topological_order",
    "trace",
    "transpose",
    "value_of",
    "variable",
    "vjp",
]

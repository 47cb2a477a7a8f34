"""Models: real differentiable layers, networks and the one activation table.

``chainopt.layers`` is what the public API calls this part (``co.layers.mlp``);
it imports the core and the executor, never the reverse, and never
:mod:`chainopt.autodiff` (the graph imports the activation table from here).

- :mod:`~chainopt.layers.activations`: the one table of elementwise functions
  with their derivatives (``ELEMENTWISE``; ``ACTIVATIONS`` are the ones a
  network uses between layers);
- :mod:`~chainopt.layers.kinds`: the three layer kinds ``Dense``,
  ``Elementwise``, ``Residual``;
- :mod:`~chainopt.layers.linear`: the layers' Jacobians at a point as block
  linear maps, and ``NetworkFactors``, the provider plans run on;
- :mod:`~chainopt.layers.program`: a network's plan compiled once into
  straight-line numpy code (what ``Network.jacobian`` runs);
- :mod:`~chainopt.layers.network`: ``Network``, their composition;
- :mod:`~chainopt.layers.builders`: the seeded ``mlp``, ``resnet`` and the
  ``dense_layers`` they (and ``chain:`` in ``chainopt sweep``) share, and
  ``from_weights`` (a network from given weights and biases).
"""

from chainopt.layers.activations import ACTIVATIONS, ELEMENTWISE, Activation, get_activation
from chainopt.layers.builders import dense_layers, from_weights, mlp, resnet
from chainopt.layers.kinds import Dense, Elementwise, Residual
from chainopt.layers.network import Network

__all__ = [
    "ACTIVATIONS",
    "ELEMENTWISE",
    "Activation",
    "Dense",
    "Elementwise",
    "Network",
    "Residual",
    "dense_layers",
    "from_weights",
    "get_activation",
    "mlp",
    "resnet",
]

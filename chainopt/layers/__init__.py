"""Models: real differentiable layers, networks and the one activation table.

``chainopt.layers`` is what the public API calls this part (``co.layers.mlp``);
it imports the core and the executor, never the reverse.
"""

from chainopt.layers.network import (
    ACTIVATIONS,
    Activation,
    Dense,
    Elementwise,
    Network,
    Residual,
    get_activation,
    mlp,
    resnet,
)

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "Dense",
    "Elementwise",
    "Residual",
    "Network",
    "mlp",
    "resnet",
]

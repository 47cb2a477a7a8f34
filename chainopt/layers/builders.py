"""Seeded, reproducible networks: :func:`mlp` and :func:`resnet`, and the dense stack they share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from chainopt.errors import ChainoptError, DimensionError, ShapeError
from chainopt.execution import seeded_rng
from chainopt.layers.activations import get_activation
from chainopt.layers.kinds import Dense, Elementwise, Residual, positive_int
from chainopt.layers.network import Network

__all__ = ["dense_layers", "from_weights", "mlp", "resnet"]


def _dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ChainoptError(f"dtype {dtype} is not supported; use float64 or float32")
    return dtype


def dense_layers(widths: Sequence[int], seed=0, *, dtype=np.float64) -> tuple[Dense, ...]:
    """The seeded dense layers ``x -> W_k x + b_k`` of ``mlp(widths, ..., seed)``, without activations.

    ``W_k`` is ``(w_{k+1}, w_k)``, normal with variance ``1 / w_k`` (the fan
    in); ``b_k`` is normal with deviation 0.1. They are drawn in the order
    ``W_1, b_1, W_2, b_2, ...`` from ``seeded_rng(seed)``; a ``Generator``
    passed as ``seed`` is drawn from (and advanced), so a caller can go on
    drawing from it. :func:`mlp` puts its activations between these layers,
    and ``chain:n_1,...,n_N`` in ``chainopt sweep``
    (:func:`chainopt.autodiff.layered.layered_function`) traces the same ones.

    Examples
    --------
    >>> [layer.W.shape for layer in dense_layers([4, 3, 2], seed=0)]
    [(3, 4), (2, 3)]
    """
    widths = [positive_int(w, f"width {k}") for k, w in enumerate(widths, start=1)]
    if len(widths) < 2:
        raise DimensionError(f"an mlp needs at least 2 widths (input and output), got {widths}")
    dtype = _dtype(dtype)
    rng = seeded_rng(seed)
    layers = []
    for n_in, n_out in pairwise(widths):
        W = rng.standard_normal((n_out, n_in))
        W /= math.sqrt(n_in)  # in place: one temporary of the weight's size while it is drawn
        b = 0.1 * rng.standard_normal(n_out)
        layers.append(Dense(W.astype(dtype, copy=False), b.astype(dtype, copy=False)))
    return tuple(layers)


def mlp(widths: Sequence[int], activation: str = "tanh", seed=0, *, dtype=np.float64) -> Network:
    """A seeded multilayer perceptron: ``Dense`` then activation, the last ``Dense`` linear.

    Dense and activation are separate layers, so the chain shows the
    activations' diagonal Jacobians: widths ``(w_1, ..., w_L)`` give dims
    ``(w_1, w_2, w_2, w_3, w_3, ..., w_{L-1}, w_{L-1}, w_L)``. The dense
    layers are :func:`dense_layers` ``(widths, seed)``: weights normal with
    variance ``1 / fan_in``, biases normal with deviation 0.1.

    Examples
    --------
    >>> net = mlp([784, 512, 256, 10], activation="tanh", seed=0)
    >>> net.dims
    (784, 512, 512, 256, 256, 10)
    >>> mlp([2, 3], seed=1).layers[0].W.round(3)
    array([[ 0.244,  0.581],
           [ 0.234, -0.921],
           [ 0.64 ,  0.316]])
    """
    act = get_activation(activation)
    dense = dense_layers(widths, seed, dtype=dtype)
    layers: list = [dense[0]]
    for layer in dense[1:]:
        layers += [Elementwise(layer.n_in, act), layer]
    return Network(layers)


def from_weights(weights: Sequence, biases: Sequence | None = None, activation: str = "tanh", *,
                 final_activation: bool = False) -> Network:
    """A network from given weights and biases: ``Dense(W_k, b_k)``, the activation between them.

    ``weights[k]`` is ``(n_{k+1}, n_k)`` (as ``W x``: input size last) and
    ``biases[k]`` is ``(n_{k+1},)``; ``biases=None`` means zeros. With
    ``final_activation=True`` the activation also follows the last dense
    layer (a network ending in ``tanh``, say); by default the last layer is
    linear, as in :func:`mlp`. The arrays are copied (read-only copies).

    Raises
    ------
    ShapeError
        A weight or bias of the wrong shape; the message names the layer.

    Examples
    --------
    >>> net = from_weights([np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)], "relu")
    >>> net.dims, [type(layer).__name__ for layer in net.layers]
    ((2, 3, 3, 1), ['Dense', 'Elementwise', 'Dense'])
    >>> from_weights([np.ones((3, 2))], final_activation=True).dims
    (2, 3, 3)
    """
    weights = list(weights)
    if not weights:
        raise DimensionError("from_weights needs at least one weight matrix, got none")
    biases = [None] * len(weights) if biases is None else list(biases)
    if len(biases) != len(weights):
        raise ShapeError(f"{len(weights)} weight matrices but {len(biases)} biases; give one bias per layer (or None)")
    act = get_activation(activation)
    layers: list = []
    for k, (W, b) in enumerate(zip(weights, biases), start=1):
        if layers:
            layers.append(Elementwise(layers[-1].n_out, act))
        try:
            dense = Dense(W, b)
        except ShapeError as exc:
            raise ShapeError(f"weights[{k - 1}]: {exc}") from None
        if layers and dense.n_in != layers[-1].n_out:
            raise ShapeError(
                f"weights[{k - 1}] has shape {dense.W.shape}, taking {dense.n_in} inputs, but weights[{k - 2}] "
                f"gives {layers[-1].n_out} outputs"
            )
        layers.append(dense)
    if final_activation:
        layers.append(Elementwise(layers[-1].n_out, act))
    return Network(layers)


def resnet(
    width: int, depth: int, seed=0, *, activation: str = "tanh", hidden: int | None = None, dtype=np.float64
) -> Network:
    """A seeded stack of ``depth`` residual blocks ``x -> x + A^T p(A x)`` on ``R^width``.

    ``A`` is ``(hidden, width)`` (``hidden`` defaults to ``width``), normal with
    variance ``1 / (width * depth)`` so the blocks stay near the identity.
    The chain is ``width`` repeated ``depth + 1`` times.

    Examples
    --------
    >>> resnet(8, 3, seed=0).dims
    (8, 8, 8, 8)
    """
    width = positive_int(width, "width")
    depth = positive_int(depth, "depth")
    hidden = width if hidden is None else positive_int(hidden, "hidden")
    act = get_activation(activation)
    dtype = _dtype(dtype)
    rng = seeded_rng(seed)
    scale = 1.0 / math.sqrt(width * depth)
    return Network([Residual((scale * rng.standard_normal((hidden, width))).astype(dtype), act) for _ in range(depth)])

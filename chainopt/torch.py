"""The Jacobian of a PyTorch stack of stages in the best order (``from chainopt import torch as ctorch``).

``jacobian(stages, x)`` equals ``jacfwd``/``jacrev`` of the composition, computed
with the mixture of forward mode, reverse mode, preaccumulation and matrix
products chainopt's generalized DP finds cheapest; ``plan(stages, x)`` is
that plan and its report. The names are defined in
:mod:`chainopt.frontends.torch_api` and loaded on first use, so importing this
module does not import PyTorch (``pip install "chainopt[torch]"`` installs it).
"""

from __future__ import annotations

import importlib

#: The public names, loaded from the front end on first use (PEP 562; no __all__, which would list them unbound).
_PUBLIC = ("Jacobian", "jacobian", "plan", "Stage", "elementwise")


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'chainopt.torch' has no attribute {name!r}")
    try:
        module = importlib.import_module("chainopt.frontends.torch_api")
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise ImportError('chainopt.torch needs PyTorch: pip install "chainopt[torch]"') from exc
    return getattr(module, name)


def __dir__():
    return sorted(_PUBLIC)

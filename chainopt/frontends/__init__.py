"""Front ends for JAX and PyTorch: a stack of stages as factors, run with the framework's own transforms.

The public modules are :mod:`chainopt.jax` and :mod:`chainopt.torch`;
:mod:`chainopt.frontends.common` is the framework-free half. Nothing here is
imported by ``import chainopt``.
"""

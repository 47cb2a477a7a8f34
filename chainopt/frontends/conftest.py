"""Doctests of a front end run only when its framework is installed (they skip cleanly otherwise)."""

from importlib.util import find_spec

collect_ignore = [name for name, framework in (("jax_api.py", "jax"), ("jax_stages.py", "jax"),
                                               ("torch_api.py", "torch"), ("torch_stages.py", "torch"))
                  if find_spec(framework) is None]

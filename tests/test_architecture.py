"""The house rules, checked on the source: no import cycles (lazy imports included), layers, sizes.

Every ``import`` anywhere in a module counts (top level or inside a function),
and so does a string naming a chainopt module (what ``importlib`` loads), so
no cycle can hide behind a deferred import. Importing ``chainopt.a.b`` also
runs ``chainopt/a/__init__.py``, so that package counts as imported too.
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "chainopt"

#: What each part may import besides itself, chainopt.errors and the standard library.
#: The core is numpy only; execution and the models sit on the core; shells sit on top.
LAYERS = {
    "chainopt.core": {"numpy"},
    "chainopt.execution": {"numpy", "chainopt.core", "dask", "threadpoolctl"},  # dask: lazily, an extra
    "chainopt.layers": {"numpy", "chainopt.core", "chainopt.execution"},
    "chainopt.autodiff": {"numpy", "chainopt.core", "chainopt.execution", "chainopt.layers"},
    # the only modules that may import jax or torch (never imported by chainopt/__init__.py)
    "chainopt.frontends": {"numpy", "chainopt.core", "chainopt.execution", "chainopt.report", "jax", "torch"},
    "chainopt.jax": {"chainopt.frontends"},
    "chainopt.torch": {"chainopt.frontends"},
}

#: Lines a module may have ("no module over ~400 lines").
MAX_LINES = 420


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
PACKAGES = {name for name, p in MODULES.items() if p.name == "__init__.py"}


def _resolve(name: str) -> str | None:
    """The chainopt module ``name`` denotes (a module, or the package an attribute lives in)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@functools.cache  # the graph below and test_imports_go_down_never_up read each module once between them
def _imports(module: str) -> frozenset[str]:
    """Every name ``module`` imports anywhere (absolute, relative resolved), plus chainopt module strings."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if module in PACKAGES else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"chainopt(\.\w+)+", node.value) and node.value in MODULES:
                found.add(node.value)
    return frozenset(found)


def _edges(module: str) -> set[str]:
    out = set()
    for name in _imports(module):
        target = _resolve(name) if name.startswith("chainopt") else None
        if target is None or target == module:
            continue
        out.add(target)
        parent = target.rpartition(".")[0]
        while parent and parent != "chainopt":  # importing a.b.c runs a/b/__init__.py first
            if not module.startswith(parent + ".") and module != parent:
                out.add(parent)
            parent = parent.rpartition(".")[0]
    out.discard(module)
    if module != "chainopt":
        out.discard("chainopt")  # every module imports the package root; its __init__ is the façade
    return out


GRAPH = {m: _edges(m) for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def test_the_checker_finds_a_cycle_through_a_lazy_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_lazy_imports_included():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("part", sorted(LAYERS))
def test_imports_go_down_never_up(part):
    allowed = LAYERS[part] | {part, "chainopt.errors"}
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for module in (m for m in MODULES if m == part or m.startswith(part + ".")):
        for name in _imports(module):
            top = name.split(".")[0]
            if top in stdlib or top == "numpy":
                assert "numpy" in allowed or top != "numpy"
                continue
            assert any(name == a or name.startswith(a + ".") for a in allowed), f"{module} imports {name}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_a_god_module(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most ~400)"


def test_no_function_shadows_a_module():
    import chainopt

    for name in dir(chainopt):
        if f"chainopt.{name}" in MODULES:
            assert type(getattr(chainopt, name)).__name__ == "module", f"chainopt.{name} is not the module"


def test_import_chainopt_loads_no_optional_framework():
    code = "import sys, chainopt; print(sorted(m for m in ('jax', 'torch', 'dask', 'distributed') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

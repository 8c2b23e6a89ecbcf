"""The import graph: no cycles; jaxproxy reaches no torch/DawDreamer, data_gen no JAX.

The graph is read from the source (every import statement, including those inside functions and
`if TYPE_CHECKING:` blocks), so neither a lazy import nor a type-only one can hide a cycle or a
forbidden dependency.
`from pkg import sub` is an edge to the submodule `pkg.sub`, not to `pkg/__init__`.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("jaxproxy", "data_gen")
TORCH_SIDE = {"torch", "dawdreamer", "torchaudio", "torchvision"}
JAX_SIDE = {"jax", "jaxlib", "flax", "optax", "orbax", "grain"}
# The one sanctioned crossing: `jaxproxy convert` reads the reference's torch checkpoint files
# (torch imported lazily inside its functions). Only jaxproxy.convert may reach it.
CONVERTER_TORCH = "jaxproxy.convert.torch_files"


def _modules() -> dict[str, str]:
    """Dotted module name -> file, for every .py file of the packages."""
    mods = {}
    for pkg in PACKAGES:
        for folder, _, files in os.walk(os.path.join(REPO, pkg)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                    mods[dotted.removesuffix(".__init__")] = path
    return mods


def _is_module(dotted: str) -> bool:
    path = os.path.join(REPO, *dotted.split("."))
    return os.path.isfile(path + ".py") or os.path.isfile(os.path.join(path, "__init__.py"))


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Absolute dotted names of every import statement in `tree`."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                base = f"{parent}.{base}" if base else parent
            subs = [f"{base}.{alias.name}" for alias in node.names]
            # `from pkg import sub1, sub2` imports the submodules; otherwise `base` itself.
            names += subs if all(_is_module(sub) for sub in subs) else [base, *subs]
    return names


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(project module -> project modules it imports, project module -> third-party tops)."""
    mods = _modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    external: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for name in _imported_names(tree, module, path.endswith("__init__.py")):
            top = name.split(".")[0]
            if top in PACKAGES:
                while name not in mods:  # `from mod import attr` -> mod
                    name = name.rpartition(".")[0]
                edges[module].add(name)
            elif top and top != "__future__":
                external[module].add(top)
    for module in mods:
        edges[module].discard(module)
    return edges, external


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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


def _reach(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_no_import_cycles():
    edges, _ = import_graph()
    cycles = _cycles(edges)
    described = [" / ".join(f"{m} -> {sorted(edges[m] & set(c))}" for m in c) for c in cycles]
    assert not cycles, "import cycles: " + "; ".join(described)


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package, forbidden", [("jaxproxy", TORCH_SIDE), ("data_gen", JAX_SIDE)])
def test_each_side_never_reaches_the_other_framework(package, forbidden):
    edges, external = import_graph()
    for module in (m for m in edges if m.split(".")[0] == package):
        reached = _reach(edges, module)
        if module.startswith("jaxproxy.convert"):
            reached.discard(CONVERTER_TORCH)
        bad = {(m, top) for m in reached for top in external[m] & forbidden}
        assert not bad, f"{module} reaches {sorted(bad)} (module, import)"


def test_importing_all_of_jaxproxy_loads_no_torch():
    edges, _ = import_graph()
    jax_mods = sorted(m for m in edges if m.startswith("jaxproxy"))
    code = (
        "import importlib, sys\n"
        f"for m in {jax_mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(TORCH_SIDE)!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"

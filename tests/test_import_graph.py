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


def _group(module: str) -> str:
    """A module's node in the package-level graph: its subpackage (`jaxproxy.trainers.proxy` ->
    `jaxproxy.trainers`) or itself (a top-level module); a `__main__` is its own node (an entry
    point: it runs, nothing imports it)."""
    return module if module.endswith(".__main__") else ".".join(module.split(".")[:2])


def package_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {_group(m): set() for m in edges}
    for module, targets in edges.items():
        groups[_group(module)] |= {_group(t) for t in targets} - {_group(module)}
    return groups


def test_no_import_back_up_between_packages():
    """Collapsed to subpackages and top-level modules the graph has no cycle either: nothing a
    subpackage imports imports it back (trainers.proxy_finetune -> export -> trainers.proxy, or
    dataset.beam_pipeline -> generation_flags -> dataset, were such arrows back up)."""
    edges, _ = import_graph()
    groups = package_graph(edges)
    cycles = _cycles(groups)
    described = [
        "; ".join(f"{m} -> {t}" for m in edges for t in edges[m] if {_group(m), _group(t)} <= set(c)
                  and _group(m) != _group(t))
        for c in cycles
    ]  # fmt: skip
    assert not cycles, "package-level import cycles: " + " | ".join(described)


def test_package_graph_sees_an_arrow_back_up():
    edges = {"p.export": {"p.trainers.a"}, "p.trainers.a": set(), "p.trainers.b": {"p.export"}}
    assert _cycles(package_graph(edges)) == [["p.export", "p.trainers"]]


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


# data_gen's layers, lowest first. A library module may import its own subpackage and the
# subpackages of lower tiers, never one of its own tier or above, nor anything at the data_gen
# root (the root holds entry points only, so no module imports "back up" into it). Imports
# inside functions count: a lazy import keeps a CLI fast to start, it does not remove the
# dependency, and an upward one would let a lower layer's behaviour depend on a higher one's.
DATA_GEN_TIERS = (
    ("data_gen.cli_support",),  # stdlib only: flag errors, path checks, the folder lock
    ("data_gen.synths", "data_gen.audio"),  # synth specs and sampling; audio models and files
    ("data_gen.render",),  # DawDreamer rendering of a spec's presets
    ("data_gen.presets", "data_gen.dataset", "data_gen.ood"),  # what is rendered and stored
    ("data_gen.sweeps",),  # the audio-model ranking study, over presets and renders
)


def _entry_points(mods: dict[str, str]) -> set[str]:
    """data_gen modules run as programs: `__main__`, and every module with a top-level `main`."""
    out = set()
    for module, path in mods.items():
        if not module.startswith("data_gen."):
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        defines_main = any(
            isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body
        )
        if module.endswith(".__main__") or defines_main:
            out.add(module)
    return out


def _tier(module: str) -> int | None:
    """Index of the tier of `module`'s data_gen subpackage (None: a root module or not data_gen)."""
    unit = ".".join(module.split(".")[:2])
    return next((i for i, tier in enumerate(DATA_GEN_TIERS) if unit in tier), None)


def layer_violations(edges: dict[str, set[str]], entry_points: set[str]) -> list[str]:
    """Every import that breaks data_gen's layer rules, as `importer -> imported: rule`."""
    bad = []
    for module, targets in sorted(edges.items()):
        for target in sorted(t for t in targets if t.startswith("data_gen")):
            if target in entry_points:
                bad.append(f"{module} -> {target}: an entry point is imported by no module")
            elif module in entry_points or not module.startswith("data_gen"):
                continue  # entry points and the JAX side sit above every data_gen layer
            elif _tier(target) is None:
                bad.append(f"{module} -> {target}: imports back up into data_gen root")
            elif _tier(module) is None:
                bad.append(f"{module}: a data_gen module outside DATA_GEN_TIERS")
            elif module.split(".")[:2] == target.split(".")[:2]:
                continue  # within one subpackage: the module-level cycle test covers it
            elif _tier(target) >= _tier(module):
                bad.append(f"{module} -> {target}: imports its own tier or above")
    return bad


def test_data_gen_tiers_name_every_subpackage():
    subpackages = {
        f"data_gen.{name}"
        for name in os.listdir(os.path.join(REPO, "data_gen"))
        if os.path.isfile(os.path.join(REPO, "data_gen", name, "__init__.py"))
    }
    assert subpackages == {unit for tier in DATA_GEN_TIERS for unit in tier}


def test_data_gen_root_holds_only_entry_points():
    mods = _modules()
    root = {m for m in mods if m.startswith("data_gen.") and m.count(".") == 1 and _tier(m) is None}
    libraries = root - _entry_points(mods)
    assert not libraries, f"library modules at the data_gen root: {sorted(libraries)}"


def test_data_gen_imports_follow_its_layers():
    edges, _ = import_graph()
    violations = layer_violations(edges, _entry_points(_modules()))
    assert not violations, "data_gen layer violations:\n" + "\n".join(violations)


def test_layer_rules_catch_each_kind_of_violation():
    entry = {"data_gen.inspect", "data_gen.synths.__main__"}
    edges = {
        "data_gen.sweeps.plots": {"data_gen.inspect"},  # a library imports an entry point
        "data_gen.audio.weights": {"data_gen.efficientat_cache"},  # back up into the root
        "data_gen.render.pool": {"data_gen.presets.formats"},  # up a tier
        "data_gen.audio.registry": {"data_gen.synths.spec"},  # across one tier
        "data_gen.synths.__main__": {"data_gen.render.probe"},  # fine: an entry point
        "data_gen.render.job": {"data_gen.synths.spec", "data_gen.render.settings"},  # fine
        "jaxproxy.cli": {"data_gen.cli_support.command_line"},  # fine
    }
    assert layer_violations(edges, entry) == [
        "data_gen.audio.registry -> data_gen.synths.spec: imports its own tier or above",
        "data_gen.audio.weights -> data_gen.efficientat_cache: imports back up into data_gen root",
        "data_gen.render.pool -> data_gen.presets.formats: imports its own tier or above",
        "data_gen.sweeps.plots -> data_gen.inspect: an entry point is imported by no module",
    ]

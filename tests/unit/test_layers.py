"""hil's layers (docs/architecture.md): every module imports, no module imports
from a layer above its own, and no two modules import each other, directly or
round a longer loop. Imports inside functions and under TYPE_CHECKING count:
a lazy import hides a cycle, it does not remove it."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import hil

# Lowest first. A module's layer is that of its package right under hil
# (hil.link.session -> hil.link) or, for a top-level module, its own name; a
# module may import its own layer and those below. The root package (hil's
# __init__: the version and ModelCase for test files) is outside the layers.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("hil.errors",),
    ("hil.config", "hil.paths", "hil.cli_args", "hil.progress"),
    ("hil.model", "hil.measurements", "hil.references", "hil.boards"),
    ("hil.energy", "hil.firmware", "hil.link"),
    ("hil.targets", "hil.devtools"),
    ("hil.device", "hil.rack"),
    ("hil.case",),
    ("hil.results",),
    ("hil.reports",),
    ("hil.accuracy",),
    ("hil.project_cli", "hil.cli", "hil.pytestplugin"),
)

ROOT = Path(hil.__file__).parent


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under `root` (the folder of `package`) by dotted name."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the package's modules it imports (`from a import b` names
    module a.b when there is one, else a)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join([*here, base] if base else here)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def layer_of(module: str, layers: tuple[tuple[str, ...], ...], package: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the root package
    group = ".".join(parts[:2])
    for level, names in enumerate(layers):
        if group in names:
            return level
    raise AssertionError(f"{module}: its layer {group} is not in the declared layer order")


def upward_imports(
    graph: dict[str, set[str]], layers: tuple[tuple[str, ...], ...], package: str
) -> list[str]:
    found = []
    for module, imported in sorted(graph.items()):
        mine = layer_of(module, layers, package)
        for other in sorted(imported):
            theirs = layer_of(other, layers, package)
            if mine is not None and theirs is not None and theirs > mine:
                found.append(f"{module} imports {other}, a layer above it")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import loops: strongly connected components of more than one module
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.mark.parametrize("module", sorted(module_names(ROOT, "hil")))
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_no_module_imports_a_layer_above_it() -> None:
    assert upward_imports(import_graph(ROOT, "hil"), LAYERS, "hil") == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph(ROOT, "hil")) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_planted_cycle_is_found(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/a.py": "from pkg.low import b\n",
            "low/b.py": "def f():\n    from pkg.low.c import g\n",
            "low/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from pkg.low.a import x\n",
            "low/d.py": "from . import a\n",
        },
    )
    assert cycles(import_graph(root, "pkg")) == [["pkg.low.a", "pkg.low.b", "pkg.low.c"]]


def test_a_planted_upward_import_is_found(tmp_path: Path) -> None:
    root = _plant(
        tmp_path,
        {"low.py": "import pkg.high\n", "high.py": "from pkg import low\n"},
    )
    layers = (("pkg.low",), ("pkg.high",))
    assert upward_imports(import_graph(root, "pkg"), layers, "pkg") == [
        "pkg.low imports pkg.high, a layer above it"
    ]
    with pytest.raises(AssertionError, match=r"pkg\.high: its layer pkg\.high is not"):
        upward_imports(import_graph(root, "pkg"), (("pkg.low",),), "pkg")

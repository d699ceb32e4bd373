"""The engine's two packages stay apart: the plan language (engine.language) never imports the runtime, the store,
the reports, the flows or the notifiers; inside each package no module imports one that imports it back.

Imports are read from the source with `ast`, those inside functions included (a lazy import is still a cycle);
imports under `if TYPE_CHECKING:` are for type checkers only and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE, RUNTIME = "engine.language", "engine.runtime"
FORBIDDEN = ("engine.runtime", "engine.state", "engine.reports", "flows", "notifiers")


def _modules(package: str) -> dict[str, Path]:
    folder = ROOT / package.replace(".", "/")
    out = {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """The modules `module` imports, with the line: `from a.b import c` names a.b.c when that is a module, else
    a.b; relative imports are resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    out: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
            out.append((base, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _graph(package: str) -> dict[str, set[str]]:
    """Each module of the package and the modules of the same package it imports."""
    modules = _modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target, _ in _imports(name, path):
            if target in modules and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules around it (the first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_the_packages_exist() -> None:
    assert f"{LANGUAGE}.plan" in _modules(LANGUAGE)
    assert f"{RUNTIME}.tick" in _modules(RUNTIME)


def test_the_language_imports_nothing_of_the_runtime() -> None:
    wrong = []
    for name, path in _modules(LANGUAGE).items():
        for target, line in _imports(name, path):
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {name} imports {target}")
    assert not wrong, "\n".join(sorted(set(wrong)))


@pytest.mark.parametrize("package", [LANGUAGE, RUNTIME])
def test_no_import_cycle_inside(package: str) -> None:
    cycle = _cycle(_graph(package))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_imports_inside_functions_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.language.plan import Plan\n"
                    "def f():\n    from engine.runtime.tick import tick\n", encoding="utf-8")
    found = {t for t, _ in _imports("engine.language.m", path)}
    assert "engine.runtime.tick" in found and "engine.language.plan" not in found

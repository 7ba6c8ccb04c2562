"""The modules of ``tracker`` form a ladder: no import cycle, no private name shared.

Each module of ``tracker/`` is read with ``ast``; every import counts, at module level
or inside a function (an import inside a function hides a cycle, it does not remove it).
A module may use another module's public names only: a name that starts with one
underscore belongs to the module that defines it. The command line's commands share
only its options and its output.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tracker

PACKAGE = Path(tracker.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ("tracker", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, ast.Module]:
    """Every module of the package, by dotted name, parsed."""
    return {_module_name(p): ast.parse(p.read_text(), str(p))
            for p in sorted(PACKAGE.rglob("*.py"))}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@dataclass(frozen=True)
class Use:
    """``module`` uses ``name`` of ``target`` (``name`` is None for the module itself)."""

    module: str
    line: int
    target: str
    name: str | None

    def __str__(self) -> str:
        return f"{self.module}:{self.line} uses {self.target}" + (
            f".{self.name}" if self.name else "")


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = (PACKAGE / Path(*module.split(".")[1:]) / "__init__.py").exists()
    base = module.split(".")[: len(module.split(".")) - node.level + is_package]
    return ".".join([*base, *([node.module] if node.module else [])])


def uses(module: str) -> Iterator[Use]:
    """What ``module`` takes from the package's other modules, wherever it imports it."""
    known = modules()
    bound: dict[str, str] = {}  # a local name bound to a module of the package
    for node in ast.walk(known[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield Use(module, node.lineno, alias.name, None)
                    if alias.asname:
                        bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source not in known:
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    yield Use(module, node.lineno, f"{source}.{alias.name}", None)
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                else:
                    yield Use(module, node.lineno, source, alias.name)
    for node in ast.walk(known[module]):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            target = _dotted(node.value, bound)
            if target in known:
                yield Use(module, node.lineno, target, node.attr)


def _dotted(node: ast.expr, bound: dict[str, str]) -> str | None:
    """The module an expression such as ``tracker.db`` or ``sql`` (bound above) names."""
    if isinstance(node, ast.Name):
        return bound.get(node.id, node.id)
    if isinstance(node, ast.Attribute) and (head := _dotted(node.value, bound)):
        return f"{head}.{node.attr}"
    return None


def import_graph() -> dict[str, set[str]]:
    return {m: {u.target for u in uses(m) if u.target != m} for m in modules()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            component.append(v)
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_imports_inside_functions_and_relative_ones() -> None:
    tree = ast.parse("def f():\n    from .db import _x\n    from tracker import sqlfiles\n"
                     "    return sqlfiles._y\n")
    modules()["tracker.example"] = tree
    try:
        found = {str(u) for u in uses("tracker.example")}
    finally:
        del modules()["tracker.example"]
    assert found == {"tracker.example:2 uses tracker.db._x",
                     "tracker.example:3 uses tracker.sqlfiles",
                     "tracker.example:4 uses tracker.sqlfiles._y"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(import_graph()) == []


def test_no_module_uses_another_modules_private_name() -> None:
    shared = [str(u) for m in modules() for u in uses(m)
              if u.name is not None and is_private(u.name) and u.target != m]
    assert shared == []


def test_the_commands_share_only_the_command_lines_options_and_output() -> None:
    shared = {"tracker.cli.options", "tracker.cli.output"}
    commands = [m for m in modules() if m.startswith("tracker.cli.") and m not in shared]
    borrowed = [str(u) for m in commands for u in uses(m)
                if u.target.startswith("tracker.cli") and u.target not in shared]
    assert borrowed == []

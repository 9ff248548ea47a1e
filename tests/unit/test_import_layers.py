"""module_utils imports one way: its subpackages are layers (module_utils/__init__.py lists them, lowest first),
a file imports from its own subpackage or one listed before it, never from one listed after; no import loop
between its files, counting imports made inside functions too (a loop dodged by importing late is still a
loop, and an upward import made late is still upward), and a function-level import only where its line says
why (an optional dependency such as PyYAML, or a heavy module a code path rarely needs)."""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Optional, Set, Tuple

from ansible_collections.kubeguard.hardening.plugins.module_utils import LAYERS

MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins", "module_utils")
PACKAGE = "ansible_collections.kubeguard.hardening.plugins.module_utils"


def files() -> Set[str]:
    """Every file of module_utils as "subpackage.module" ("module" for one directly in module_utils)."""
    found = set()
    for directory, _dirs, names in os.walk(MODULE_UTILS):
        package = os.path.relpath(directory, MODULE_UTILS).replace(os.sep, ".")
        for name in names:
            if name.endswith(".py") and name != "__init__.py":
                found.add(name[:-3] if package == "." else f"{package}.{name[:-3]}")
    return found


def _resolve(dotted: str, names: Set[str]) -> Optional[str]:
    """The file a dotted name under module_utils is, or is in ("catalogue.catalogue.Platform" -> "catalogue.catalogue")."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in names:
            return ".".join(parts[:end])
    return None


def _ours(node: ast.AST, name: str, names: Set[str]) -> List[str]:
    """The module_utils files an import statement in file `name` names (relative or absolute)."""
    if isinstance(node, ast.ImportFrom):
        if node.level:
            here = name.split(".")[:-1]   # the file's package, relative to module_utils
            if node.level - 1 > len(here):
                return []
            base = ".".join(here[:len(here) - (node.level - 1)] + ([node.module] if node.module else []))
        elif node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
            base = (node.module or "")[len(PACKAGE) + 1:]
        else:
            return []
        found = [_resolve(f"{base}.{a.name}" if base else a.name, names) for a in node.names]
        if not any(found):
            found = [_resolve(base, names)]
        return sorted({f for f in found if f})
    if isinstance(node, ast.Import):
        return sorted({f for a in node.names if a.name.startswith(PACKAGE + ".")
                       for f in [_resolve(a.name[len(PACKAGE) + 1:], names)] if f})
    return []


def import_graph() -> Tuple[Dict[str, Set[str]], List[Tuple[str, int, str, str]]]:
    """({file: the files it imports}, [(file, line, imported, the line's text) for each function-level import])."""
    names = files()
    graph: Dict[str, Set[str]] = {name: set() for name in names}
    late: List[Tuple[str, int, str, str]] = []
    for name in names:
        with open(os.path.join(MODULE_UTILS, *name.split(".")) + ".py", encoding="utf-8") as handle:
            source = handle.read()
        lines = source.split("\n")
        tree = ast.parse(source)
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            for target in _ours(node, name, names):
                graph[name].add(target)
                if id(node) not in top and (name, node.lineno) not in {(n, l) for n, l, _t, _x in late}:
                    late.append((name, node.lineno, target, lines[node.lineno - 1]))
    return graph, late


def loops(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected groups of more than one file (Tarjan), each an import loop."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1 or node in graph[node]:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward(graph: Dict[str, Set[str]], layers: Tuple[str, ...]) -> List[str]:
    """Each import from a file to one of a later layer (or of no layer), as "importer -> imported"."""
    rank = {layer: i for i, layer in enumerate(layers)}
    wrong = []
    for name in sorted(graph):
        for target in sorted(graph[name]):
            mine, theirs = rank.get(name.split(".")[0]), rank.get(target.split(".")[0])
            if mine is None or theirs is None or theirs > mine:
                wrong.append(f"{name} -> {target}")
    return wrong


def test_every_file_is_in_a_layer():
    packages = {name.split(".")[0] for name in files() if "." in name}
    assert sorted(name for name in files() if name.count(".") != 1) == [], "a file outside the layers, or nested deeper"
    assert packages == set(LAYERS), (sorted(packages - set(LAYERS)), sorted(set(LAYERS) - packages))
    assert len(LAYERS) == len(set(LAYERS))
    for layer in LAYERS:
        assert os.path.isfile(os.path.join(MODULE_UTILS, layer, "__init__.py")), layer


def test_imports_go_down_the_layers():
    graph, _late = import_graph()
    assert sum(len(targets) for targets in graph.values()) > 100, "the import graph lost its edges (imports not recognised)"
    assert upward(graph, LAYERS) == []


def test_every_relative_import_names_a_file():
    names = files()
    unresolved = []
    for name in sorted(names):
        with open(os.path.join(MODULE_UTILS, *name.split(".")) + ".py", encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        unresolved += [f"{name}.py:{node.lineno}" for node in ast.walk(tree)
                       if isinstance(node, ast.ImportFrom) and node.level and not _ours(node, name, names)]
    assert not unresolved, unresolved


def test_module_utils_has_no_import_loop():
    graph, _late = import_graph()
    assert loops(graph) == [], loops(graph)


def test_the_loop_finder_finds_a_loop():
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert loops({"a": {"b"}, "b": set()}) == []


def test_the_layer_check_finds_an_upward_import():
    graph = {"low.a": {"low.b", "high.c"}, "low.b": set(), "high.c": {"low.a", "high.d"}, "high.d": set(), "x": {"low.a"}}
    assert upward(graph, ("low", "high")) == ["low.a -> high.c", "x -> low.a"]


def test_the_import_reader_resolves_every_form():
    names = {"base.yaml_support", "catalogue.catalogue", "catalogue.checks", "plan.desired"}

    def read(statement: str, name: str = "plan.desired") -> List[str]:
        return _ours(ast.parse(statement).body[0], name, names)

    assert read("from . import desired") == ["plan.desired"]
    assert read("from .desired import x") == ["plan.desired"]
    assert read("from ..catalogue import catalogue, checks") == ["catalogue.catalogue", "catalogue.checks"]
    assert read("from ..catalogue.catalogue import Platform") == ["catalogue.catalogue"]
    assert read("from ..base.yaml_support import yaml") == ["base.yaml_support"]
    assert read(f"from {PACKAGE}.catalogue import checks") == ["catalogue.checks"]
    assert read(f"from {PACKAGE}.catalogue.checks import x") == ["catalogue.checks"]
    assert read(f"import {PACKAGE}.catalogue.checks") == ["catalogue.checks"]
    assert read("from .. import LAYERS") == []
    assert read("import os") == [] and read("from typing import Any") == []


def test_a_function_level_import_says_why():
    _graph, late = import_graph()
    silent = [f"{name}.py:{line}: {text.strip()}" for name, line, _target, text in late if "#" not in text]
    assert not silent, "\n".join(silent)

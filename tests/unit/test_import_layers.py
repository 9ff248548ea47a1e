"""module_utils imports one way: no import loop between its files, counting imports made inside functions
too (a loop dodged by importing late is still a loop), and a function-level import only where its line says
why (an optional dependency such as PyYAML, or a heavy module a code path rarely needs)."""

from __future__ import annotations

import ast
import os
from typing import Dict, List, Set, Tuple

MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins", "module_utils")
PACKAGE = "ansible_collections.kubeguard.hardening.plugins.module_utils"


def _ours(node: ast.AST, names: Set[str]) -> List[str]:
    """The module_utils files an import statement names."""
    if isinstance(node, ast.ImportFrom):
        if node.level == 1 or node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
            base = (node.module or "") if node.level == 1 else (node.module or "")[len(PACKAGE) + 1:]
            if base:
                return [base.split(".")[0]] if base.split(".")[0] in names else []
            return [a.name for a in node.names if a.name in names]
    return []


def import_graph() -> Tuple[Dict[str, Set[str]], List[Tuple[str, int, str, str]]]:
    """({file: the files it imports}, [(file, line, imported, the line's text) for each function-level import])."""
    names = {f[:-3] for f in os.listdir(MODULE_UTILS) if f.endswith(".py") and f != "__init__.py"}
    graph: Dict[str, Set[str]] = {name: set() for name in names}
    late: List[Tuple[str, int, str, str]] = []
    for name in names:
        with open(os.path.join(MODULE_UTILS, name + ".py"), encoding="utf-8") as handle:
            source = handle.read()
        lines = source.split("\n")
        tree = ast.parse(source)
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            for target in _ours(node, names):
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


def test_module_utils_has_no_import_loop():
    graph, _late = import_graph()
    assert loops(graph) == [], loops(graph)


def test_the_loop_finder_finds_a_loop():
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert loops({"a": {"b"}, "b": set()}) == []


def test_a_function_level_import_says_why():
    _graph, late = import_graph()
    silent = [f"{name}.py:{line}: {text.strip()}" for name, line, _target, text in late if "#" not in text]
    assert not silent, "\n".join(silent)

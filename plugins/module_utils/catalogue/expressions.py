"""The catalogue's one expression language, evaluated the same way on the controller, on the nodes and
in the tests: Python expression syntax over plain data, with Jinja-style filters written
`value | name` or `value | name(arguments)`. Names are looked up in a context (hardening variables,
layout.*, paths.*, tls.*); `none`, `true`, `false` are constants. Nothing else (no calls, no
attribute access on objects, no subscripts): a catalogue row cannot run code. Standard library only.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any, Callable, Dict, List, Mapping


def _kbool(value: Any) -> str:
    """A boolean as Kubernetes flags spell it."""
    return "true" if value else "false"


def _feature_gate_map(gates: List[str]) -> Dict[str, bool]:
    result: Dict[str, bool] = {}
    for gate in gates:
        name, _ignored, flag = gate.partition("=")
        result[name] = flag == "true"
    return result


FILTERS: Dict[str, Callable[..., Any]] = {
    "join": lambda value, separator="": separator.join(str(item) for item in value),
    "kbool": _kbool,
    "string": str,
    "feature_gate_map": _feature_gate_map,
}
CONSTANTS = {"none": None, "None": None, "true": True, "false": False, "True": True, "False": False}
_COMPARE = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
            ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


class ExpressionError(ValueError):
    pass


@lru_cache(maxsize=1024)
def _parse(expression: str) -> ast.expr:
    try:
        return ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"expression {expression!r}: {exc.msg}") from None


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    return _eval(_parse(expression), context, expression)


def _filter(node: ast.expr, value: Any, context: Mapping[str, Any], source: str) -> Any:
    if isinstance(node, ast.Name) and node.id in FILTERS:
        return FILTERS[node.id](value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FILTERS and not node.keywords:
        return FILTERS[node.func.id](value, *[_eval(arg, context, source) for arg in node.args])
    raise ExpressionError(f"expression {source!r}: unknown filter; allowed: {', '.join(FILTERS)}")


def _eval(node: ast.expr, context: Mapping[str, Any], source: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id not in context:
            raise ExpressionError(f"expression {source!r}: unknown name {node.id!r}")
        return context[node.id]
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, context, source)
        if not isinstance(base, Mapping) or node.attr not in base:
            raise ExpressionError(f"expression {source!r}: no {node.attr!r} there")
        return base[node.attr]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _filter(node.right, _eval(node.left, context, source), context, source)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval(node.operand, context, source)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, context, source)
    if isinstance(node, ast.BoolOp):
        result = None
        for value in node.values:
            result = _eval(value, context, source)
            if isinstance(node.op, ast.And) and not result or isinstance(node.op, ast.Or) and result:
                return result
        return result
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return _COMPARE[type(node.ops[0])](_eval(node.left, context, source), _eval(node.comparators[0], context, source))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(item, context, source) for item in node.elts]
    raise ExpressionError(f"expression {source!r}: {type(node).__name__} is not part of the catalogue's language")

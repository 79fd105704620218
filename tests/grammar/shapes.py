"""Position-free shapes of `grammar.ast` nodes, so tests can say what a line parses to in one literal."""

from __future__ import annotations

from typing import Any

from grammar import ast


def shape(node: Any) -> Any:
    """A nested tuple naming each node's kind and parts, without line and column."""
    if isinstance(node, tuple):
        return tuple(shape(n) for n in node)
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.Above):
        return ("above",)
    if isinstance(node, ast.FactRef):
        return ("fact", node.name.key)
    if isinstance(node, ast.Possessive):
        return ("of", node.owner.key, node.field.key)
    if isinstance(node, ast.Comparison):
        return (node.field.key, node.op, shape(node.value))
    if node is None:
        return None
    if isinstance(node, ast.AboveField):
        return ("above's", node.field.key)
    if isinstance(node, ast.BinOp):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, ast.Template):
        return ("template", *(p if isinstance(p, str) else ("{}", shape(p)) for p in node.parts))
    if isinstance(node, ast.ListValue):
        return ("list", *shape(node.items))
    if isinstance(node, ast.CountOf):
        return ("count of", shape(node.of))
    if isinstance(node, ast.Pick):
        return ("pick", node.which, node.count, node.noun.key, shape(node.of))
    if isinstance(node, ast.Moment):
        return ("moment", node.kind)
    if isinstance(node, ast.Duration):
        return ("ago" if node.ago else "span", node.count, node.unit)
    if isinstance(node, ast.Period):
        return ("period", node.which, node.unit)
    if isinstance(node, ast.Test):
        return ("test", shape(node.value), node.op, shape(node.operand))
    if isinstance(node, ast.Exists):
        return ("exists", shape(node.value), not node.negated)
    if isinstance(node, ast.Prep):
        return (node.word, shape(node.value))
    if isinstance(node, ast.If):
        return ("if", tuple((shape(c), shape(b)) for c, b in node.branches), shape(node.otherwise))
    if isinstance(node, ast.Say):
        return ("say", shape(node.value))
    if isinstance(node, ast.Stop):
        return ("stop",)
    if isinstance(node, ast.Wait):
        return ("wait", node.count, node.unit)
    if isinstance(node, ast.Change):
        return ("change", node.op, shape(node.value), node.name.key)
    if isinstance(node, ast.Sort):
        return ("sort", shape(node.value), node.key.key, node.descending)
    if isinstance(node, ast.And):
        return ("and", *shape(node.items))
    if isinstance(node, ast.Or):
        return ("or", *shape(node.items))
    if isinstance(node, ast.Not):
        return ("not", shape(node.item))
    if isinstance(node, ast.Quantity):
        return (node.kind, node.count) if node.count is not None else node.kind
    if isinstance(node, ast.Input):
        return (node.name.key, shape(node.value))
    if isinstance(node, ast.Call):
        made = ("call", node.verb.text.lower(), shape(node.quantity), node.noun.key,
                shape(node.filter) if node.filter is not None else None, shape(node.inputs))
        return made + (shape(node.preps),) if node.preps else made
    if isinstance(node, ast.Assign):
        return ("assign", node.name.key, shape(node.value))
    if isinstance(node, ast.Use):
        return ("use", shape(node.value), node.name.key)
    if isinstance(node, ast.Convert):
        return ("convert", shape(node.value), node.type_name.key)
    if isinstance(node, ast.Get):
        if node.filter is not None or node.preps:
            return ("get", shape(node.value), shape(node.preps), shape(node.filter))
        return ("get", shape(node.value))
    if isinstance(node, ast.ForEach):
        collection = shape(node.collection) if node.collection is not None else None
        return ("each", node.item.key, collection, shape(node.body))
    raise TypeError(f"no shape for {node!r}")

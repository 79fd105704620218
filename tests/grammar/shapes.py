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
        return ("call", node.verb.text.lower(), shape(node.quantity), node.noun.key,
                shape(node.filter) if node.filter is not None else None, shape(node.inputs))
    if isinstance(node, ast.Assign):
        return ("assign", node.name.key, shape(node.value))
    if isinstance(node, ast.Use):
        return ("use", shape(node.value), node.name.key)
    if isinstance(node, ast.Convert):
        return ("convert", shape(node.value), node.type_name.key)
    if isinstance(node, ast.Get):
        return ("get", shape(node.value))
    if isinstance(node, ast.ForEach):
        collection = shape(node.collection) if node.collection is not None else None
        return ("each", node.item.key, collection, shape(node.body))
    raise TypeError(f"no shape for {node!r}")

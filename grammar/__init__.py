"""The English of automations and of procedure phrases: Lark grammars, and the typed tree they yield.

    from grammar import parse, parse_signature, ast
    program = parse('read some notes whose title is "groceries"')   # an ast.Program

The grammars load on first use, not when `grammar` is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "parse": "grammar.parser",
    "parse_signature": "grammar.signature",
    "Signature": "grammar.signature",
}

__all__ = ["Signature", "ast", "parse", "parse_signature"]


def __getattr__(name: str) -> Any:
    if name == "ast":
        return importlib.import_module("grammar.ast")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grammar' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from grammar import ast
    from grammar.parser import parse
    from grammar.signature import Signature, parse_signature

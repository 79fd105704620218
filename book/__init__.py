"""The book runtime: compile English automations into plans and run them against registered procedures.

    from book import Automation, Session
    automation = Automation.compile(text, registry)     # LanguageError listing every problem
    result = automation.run(Session(clients))           # BookError on a failure at run time

Importing `book` is cheap: each public name is imported from its module on first use, so the CLI's
`--help` loads neither lark, nor pydantic, nor a service's SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_ERRORS = (
    "BookError", "LanguageError", "EnglishSyntaxError", "CompileError", "AuthoringError", "InputError",
    "ConnectionError_", "NotFoundError", "RemoteError", "DeliveryUnknownError", "SandboxError", "Problem",
)
_EXPORTS = {
    "Book": "book.authoring",
    "Automation": "book.runtime",
    "RunResult": "book.runtime",
    "run": "book.runtime",
    "check": "book.runtime",
    "Session": "book.interpreter",
    "FilterExpression": "book.filters",
    "Pushdown": "book.filters",
    **dict.fromkeys(_ERRORS, "book.errors"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'book' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see
    from book.authoring import Book
    from book.errors import (
        AuthoringError,
        BookError,
        CompileError,
        ConnectionError_,
        DeliveryUnknownError,
        EnglishSyntaxError,
        InputError,
        LanguageError,
        NotFoundError,
        Problem,
        RemoteError,
        SandboxError,
    )
    from book.filters import FilterExpression, Pushdown
    from book.interpreter import Session
    from book.runtime import Automation, RunResult, check, run

"""The Notes test book, filled with a few notes, and helpers to check and run English against it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from book.authoring import Book
from book.errors import CompileError
from book.interpreter import Session
from book.plan import Plan
from book.runtime import Automation, RunResult
from tests.notes import Store, make_book

UTC = timezone.utc


@dataclass
class Notes:
    """The Notes book, its store, and a session whose client is that store."""

    book: Book
    store: Store

    def session(self) -> Session:
        return Session({self.book.name: lambda: self.store})

    def check(self, text: str) -> Plan:
        return Automation.compile(text, self.book.registry).plan

    def run(self, text: str, facts: dict[str, Any] | None = None) -> RunResult:
        return Automation.compile(text, self.book.registry).run(self.session(), facts)

    def problems(self, text: str) -> list[tuple[int | None, int | None, str, str | None]]:
        """Every compile problem of `text`, as (line, column, message, hint)."""
        with pytest.raises(CompileError) as caught:
            self.check(text)
        return [(p.line, p.column, p.message, p.hint) for p in caught.value.problems]


@pytest.fixture
def notes() -> Notes:
    book, store = make_book()
    store.add("groceries", "milk and eggs", 3, datetime(2022, 3, 1, 9, 0, tzinfo=UTC))
    store.add("todo", "call mom", 1, datetime(2022, 3, 2, 18, 30, tzinfo=UTC))
    store.add("Groceries for the party", None, 5, datetime(2022, 3, 5, 23, 45, tzinfo=UTC))
    store.add("ideas", "a book of English automations", 0, datetime(2022, 3, 2, 0, 0, tzinfo=UTC))
    return Notes(book, store)

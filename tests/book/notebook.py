"""A small book defined in the tests: notes kept in memory. Nothing here knows Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from book.authoring import Book
from book.filters import FilterExpression
from concepts import Concept


class Note(Concept):
    """A note: a title, a body and when it was written."""

    concept_name = "note"

    id: str
    """The note's identifier."""
    title: str
    """The note's title."""
    body: str | None = None
    """What the note says."""
    stars: int = 0
    """How many stars the note has."""
    written: datetime | None = None
    """When the note was written."""


class Store:
    """The notes, and a log of what each read asked the 'API' for."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.pushed: list[dict] = []
        self.yielded = 0

    def add(self, title: str, body: str | None = None, stars: int = 0, written: datetime | None = None) -> str:
        note = Note(id=f"N{len(self.notes) + 1}", title=title, body=body, stars=stars,
                    written=written or datetime(2022, 3, 1, tzinfo=timezone.utc))
        self.notes.append(note)
        return note.id


def make_book() -> tuple[Book, Store]:
    store = Store()
    book = Book("Notes", description="Notes kept in memory.", client_factory=lambda: store)

    @book.procedure("to read some (notes)")
    def read_notes(client: Store, filter_expression: FilterExpression | None = None, offset: int = 0,
                   limit: int | None = None) -> Iterator[Note]:
        """Read notes.

        Output Concepts:
            notes: The notes that match the filter.

        Example 1:
            Notes with a title
            >>> read some notes whose title is "groceries"
        """
        pushed = filter_expression.pushdown({"title": {"eq"}}) if filter_expression else None
        title = pushed.get("title") if pushed else None
        client.pushed.append({"title": title, "limit": limit})
        for note in client.notes[offset:]:
            if title is None or note.title == title:
                client.yielded += 1
                yield note

    @book.procedure("to write a *Lark* note")
    def write_note(client: Store, title: str, body: str | None = None, stars: int = 0) -> str:
        """Write a note.

        Input Concepts:
            the title: The note's title.
            the body: What the note says.
            the stars: How many stars.

        Output Concepts:
            answer: The new note's id.

        Example 1:
            Write a note
            >>> write a Lark note where
            ...   the title is "groceries"
            ...   the body is "milk"
        """
        return client.add(title, body, stars)

    return book, store

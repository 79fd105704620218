"""A small book of notes kept in memory, for the MCP tests: nothing here knows Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from book.authoring import Book
from book.errors import NotFoundError
from book.filters import FilterExpression
from book.interpreter import Session
from concepts import Concept


class Note(Concept):
    """A note: a title, how many stars it has and when it was written."""

    concept_name = "note"

    id: str
    """The note's identifier."""
    title: str
    """The note's title."""
    stars: int = 0
    """How many stars the note has."""
    written: datetime | None = None
    """When the note was written."""


class Store:
    """The notes, and how many the read procedure has handed out (to show when nothing ran)."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.reads = 0

    def add(self, title: str, stars: int = 0, day: int = 1) -> str:
        note = Note(id=f"N{len(self.notes) + 1}", title=title, stars=stars,
                    written=datetime(2022, 3, day, 12, tzinfo=timezone.utc))
        self.notes.append(note)
        return note.id


def make_book() -> tuple[Book, Store]:
    store = Store()
    book = Book("Notes", description="Notes kept in memory.", client_factory=lambda credentials: store)

    @book.procedure("to read some (notes)")
    def read_notes(client: Store, filter_expression: FilterExpression | None = None, offset: int = 0,
                   limit: int | None = None) -> Iterator[Note]:
        """Read notes, oldest first.

        Output Concepts:
            notes: The notes that match the filter.

        Example 1:
            Notes with a title
            >>> read some notes whose title is "groceries"
        """
        client.reads += 1
        yield from client.notes[offset:]

    @book.procedure("to write a note")
    def write_note(client: Store, title: str, stars: int = 0) -> str:
        """Write a note.

        Input Concepts:
            the title: The note's title.
            the stars: How many stars it gets.

        Output Concepts:
            answer: The new note's id.

        Example 1:
            Write a note
            >>> write a note where
            ...   the title is "groceries"
        """
        return client.add(title, stars)

    @book.procedure("to find a (note)")
    def find_note(client: Store, note_id: str) -> Note:
        """Find one note by its id.

        Input Concepts:
            the note id: The note's identifier, like N1.
        """
        for note in client.notes:
            if note.id == note_id:
                return note
        raise NotFoundError(f"there is no note {note_id!r}; read some notes to see their ids")

    return book, store


def session_for(book: Book, store: Store) -> Session:
    return Session(clients={book.name: lambda: store})

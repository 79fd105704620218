"""The one test book: notes kept in memory, for the runtime's tests (and the MCP front end's). Nothing here
knows Twilio.

    book, store = make_book()       # read some notes (FILTER-CAPABLE, the title pushed down; also
                                    # `memos`, `read the notes written after ...`), write a Lark note
                                    # (`write a note saying "..."`), find a note (by id); and conversations:
                                    # `answer each chat as follows`, `hold a Lark chat with "ada" as follows`
                                    # (a chat of `store.lines`, its replies in `store.replies`)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone

from book.authoring import Book
from book.concept import Concept
from book.conversation import ConversationReport, Converse, Conversing
from book.errors import NotFoundError
from book.filters import NO_PUSHDOWN, Pushdown
from book.interpreter import Session


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


class Chat(Concept):
    """A chat with someone."""

    concept_name = "chat"

    visitor: str
    """Who the chat is with."""


class Visitor(Concept):
    """What the visitor wrote in one turn of a chat."""

    concept_name = "chat visitor"

    words: str | None = None
    """What they wrote."""
    digits: str | None = None
    """A key they pressed."""


class Chatting:
    """A chat as the book holds it: the lines the visitor writes, one a turn; what the block replied; who ended it."""

    def __init__(self, visitor: str, lines: list[str]) -> None:
        self.facts = {"chat": Chat(visitor=visitor)}
        self.lines, self.replies, self.ended = list(lines), [], False

    def turns(self) -> Iterator[dict]:
        for line in self.lines:
            if self.ended:
                return
            self.replies.append([])
            yield {"visitor": Visitor(digits=line[1:]) if line.startswith("#") else Visitor(words=line)}

    def reply(self, value: object) -> None:
        self.replies[-1].append(str(value))

    def end(self) -> None:
        self.ended = True


class Store:
    """The notes, and a log of what the reads asked the 'API' for: each read's pushed title and limit (`pushed`),
    how many reads there were and how many notes they handed out."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.pushed: list[dict] = []
        self.reads = 0
        self.yielded = 0
        self.lines: list[str] = []
        self.chats: list[Chatting] = []
        self._adding = threading.Lock()

    def add(self, title: str, body: str | None = None, stars: int = 0, written: datetime | None = None) -> str:
        with self._adding:  # items of a loop run side by side write at once
            note = Note(id=f"N{len(self.notes) + 1}", title=title, body=body, stars=stars,
                        written=written or datetime(2022, 3, 1, tzinfo=timezone.utc))
            self.notes.append(note)
        return note.id


def make_book() -> tuple[Book, Store]:
    store = Store()
    book = Book("Notes", description="Notes kept in memory.", client_factory=lambda *connection: store)

    @book.procedure("to read some (notes)", pushable={"title": {"eq"}}, synonyms=("memos", "jottings"),
                    prepositions={"written after": "written", "written before": "written", "written on": "written",
                                  "after": "written", "before": "written"})
    def read_notes(client: Store, pushed: Pushdown = NO_PUSHDOWN, offset: int = 0,
                   limit: int | None = None) -> Iterator[Note]:
        """Read notes, oldest first.

        Output Concepts:
            notes: The notes that match the filter.

        Example 1:
            Notes with a title
            >>> read some notes whose title is "groceries"
        """
        title = pushed.get("title")
        client.pushed.append({"title": title, "limit": limit})
        client.reads += 1
        for note in client.notes[offset:]:
            if title is None or note.title == title:
                client.yielded += 1
                yield note

    @book.procedure("to write a *Lark* note", prepositions={"saying": "body"})
    def write_note(client: Store, title: str, body: str | None = None, stars: int = 0) -> str:
        """Write a note.

        Input Concepts:
            the title: The note's title.
            the body: What the note says.
            the stars: How many stars it gets.

        Output Concepts:
            answer: The new note's id.

        Example 1:
            Write a note
            >>> write a Lark note where
            ...   the title is "groceries"
            ...   the body is "milk"
        """
        return client.add(title, body, stars)

    book.conversation("chats", facts={"chat": Chat}, turn={"visitor": Visitor}, runs_in="notes chat FILE")

    @book.procedure("to hold a *Lark* chat", prepositions={"to": "visitor"},
                    converses=Conversing(facts={"chat": Chat}, turn={"visitor": Visitor}))
    def hold_chat(client: Store, conversation: Converse | None, visitor: str) -> ConversationReport:
        """Hold a chat with someone, running the block once per line they write.

        Input Concepts:
            the visitor: Who to chat with.

        Output Concepts:
            conversation report: What the chat did.

        Example 1:
            Greet a visitor
            >>> hold a Lark chat to "ada" as follows
            ...   say "Hello"
        """
        chat = Chatting(visitor, client.lines)
        client.chats.append(chat)
        return conversation(chat) if conversation is not None else ConversationReport()

    @book.procedure("to find a (note)")
    def find_note(client: Store, note_id: str) -> Note:
        """Find one note by its id.

        Input Concepts:
            the note id: The note's identifier, like N1.

        Example 1:
            The first note
            >>> find a note where
            ...   the note id is "N1"
        """
        for note in client.notes:
            if note.id == note_id:
                return note
        raise NotFoundError(f"there is no note {note_id!r}; read some notes to see their ids")

    return book, store


def session_for(book: Book, store: Store) -> Session:
    return Session(clients={book.name: lambda: store})

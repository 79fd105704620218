"""Conversations: a block of English run once per turn of a conversation that a book provides.

A book says what its conversations are and what they bind; the runtime runs the block, turn by turn, and
knows nothing of how a turn arrives or how a reply travels (a phone call's words over a WebSocket, a chat):

    book.conversation("chats", facts={"chat": Chat}, turn={"visitor": Visitor},
                      runs_in="acme-book serve --run FILE")       # `answer each chat as follows`

    @book.procedure("to hold an *Acme* chat", converses=Conversing(...))   # `hold an Acme chat ... as follows`
    def hold(client, conversation: Converse | None, ...): ...

In the block, the turn's facts are bound anew each turn (`the visitor's words`), the conversation's for all of
it (`the chat`); `say ...` is the reply (it goes to the other side, not to standard output); `hang up` ends
the conversation (and so does `stop`: it ends the block, as in a watch). A fact defined above the block and
changed in it keeps its change from one turn to the next (a counter). A turn whose steps fail is reported, and the conversation goes
on with the next turn.

The book's side is a `Conversation`: its facts, the facts of each turn as it comes (`turns()`, blocking), a
way to reply, and a way to end it. A procedure that converses gets a `Converse`: call it with the
`Conversation` and it runs the block over it (see `book.interpreter.Interpreter.converse`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from book.concept import Concept
from book.registry import Conversing

__all__ = ["Conversation", "ConversationReport", "Converse", "Conversing"]


class Conversation(Protocol):
    """One conversation, as the book's side holds it."""

    @property
    def facts(self) -> Mapping[str, Any]:
        """The facts bound for the whole conversation (`the call`)."""

    def turns(self) -> Iterator[Mapping[str, Any]]:
        """The facts of each turn, as it comes (blocking), until the other side ends the conversation."""

    def reply(self, value: Any) -> None:
        """A `say` line of the current turn, for the other side."""

    def end(self) -> None:
        """`hang up`: end the conversation from this side (no turn comes after)."""


class ConversationReport(Concept):
    """What a conversation block did: its turns, its replies, and who ended it."""

    concept_name = "conversation report"

    turns: int = 0
    """How many turns the block ran for."""
    replies: int = 0
    """How many lines it said."""
    failed: int = 0
    """How many turns' steps failed (each was reported; the conversation went on)."""
    hung_up: bool = False
    """Whether the block ended the conversation (`hang up` or `stop`); otherwise the other side did."""


Converse = Callable[[Conversation], ConversationReport]
"""Runs a call's conversation block over a conversation, turn by turn, until it ends; what a procedure that
converses is given (`conversation`), or None when its call has no block."""

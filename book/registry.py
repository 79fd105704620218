"""The registry: small frozen records of procedures, and the lookup of a call's verb and noun.

A `Book` (see `book.authoring`) registers its procedures here when their modules are imported; the
compiler looks calls up after parsing, so adding a procedure never edits a grammar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from book.errors import AuthoringError, BookError
from book.filters import NO_PUSHDOWN
from book.naming import did_you_mean, noun_key
from grammar.signature import Signature


@dataclass(frozen=True)
class Conversing:
    """A kind of conversation: the noun `answer each ... as follows` names it by (for a trigger), the facts bound
    for a whole conversation, those bound anew each turn, and what runs it (for a trigger: a hint). See
    `book.conversation`."""

    noun: str = ""
    facts: Mapping[str, type] = field(default_factory=lambda: MappingProxyType({}))
    turn: Mapping[str, type] = field(default_factory=lambda: MappingProxyType({}))
    runs_in: str = ""
    """The command that runs `answer each <noun> as follows` (`acme-book serve --run FILE`): a trigger's conversations
    come from outside the run, so `run` says where to run it instead."""
    description: str = ""


READ_ALIASES = frozenset({"get", "list", "find", "fetch", "retrieve", "show"})
"""Verbs that mean `read` in a call, where no procedure of the book takes them."""


@dataclass(frozen=True, slots=True)
class InputConcept:
    """An input of a procedure: English name, the parameter it binds to, type, default and description."""

    name: str
    param: str
    annotation: Any
    required: bool
    default: Any
    description: str


@dataclass(frozen=True, slots=True)
class OutputConcept:
    """What a procedure returns: English name, description, type (a concept class or a Python type)."""

    name: str
    description: str
    type: Any
    plural: bool


@dataclass(frozen=True, slots=True)
class Procedure:
    """A registered procedure: its phrase, function, inputs, output and documentation."""

    signature: Signature
    function: Callable[..., Any]
    book: str
    inputs: tuple[InputConcept, ...]
    output: OutputConcept
    filter_capable: bool
    page_capable: bool
    takes_client: bool
    mutating: bool
    summary: str
    description: str
    examples: tuple[Any, ...]
    location: str
    pushable: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    """FILTER-CAPABLE: field -> the operators its API applies itself (pushed down; the rest run locally)."""
    takes_pushed: bool = False
    takes_expression: bool = False
    find_sent: Callable[..., list[Any]] | None = field(default=None, compare=False)
    """A mutating procedure's way to find what an earlier attempt of a call sent, when that attempt's outcome
    was lost (its worker died): `find_sent(client, inputs, since, exclude)` -> the results the service holds
    that a call with these inputs made since `since`, less `exclude` (`book.temporal` asks before it resends)."""
    writes_files: bool = False
    """Whether it writes files on this computer (it takes `downloads`: the session's `book.files.DownloadFolder`)."""
    synonyms: tuple[str, ...] = ()
    """Other nouns the book declares for it (`texts`, `SMS`): `read the texts` calls it too."""
    prepositions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """What a one-line call's prepositions bind: word(s) -> an input's parameter or (a read) a field of what it
    reads: `{"to": "recipient_number", "saying": "message_body"}`; on a field, `after` and `before` compare
    (is after, is before), any other word is `is`."""
    converses: Any = None
    """A `book.conversation.Conversing` when a call of it may have a conversation block (`... as follows`): the
    facts the block binds; the procedure takes `conversation` (a `Converse`, or None without a block)."""
    paced_by: str | None = None
    """A send's input (a parameter) naming its sender: sends from one sender are paced at the session's rate for
    the book (`book.pacing`)."""
    resume: Callable[..., Any] | None = field(default=None, compare=False)
    """A send that goes on after it sent (it waits for what it started to end): `resume(client, found, inputs)`
    carries on from what an earlier attempt sent (`find_sent`), so a durable run waits for it, never resends."""

    @property
    def changes_things(self) -> bool:
        """Whether it changes anything, in the service (`mutating`) or on this computer (`writes_files`):
        what a read-only server leaves out."""
        return self.mutating or self.writes_files

    @property
    def phrase(self) -> str:
        return self.signature.phrase

    @property
    def english(self) -> str:
        """The phrase without its marks: `read some SMS messages`."""
        s = self.signature
        return f"{s.verb} {s.determiner or s.quantity} {s.noun}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.signature.verb, noun_key(self.signature.noun))

    @property
    def nouns(self) -> tuple[str, ...]:
        """The noun keys an automation may call it by: its noun, its noun without the proper nouns in it (when
        some word is left: `phone call` -> `call`, `Acme API call` -> `API call`), and its synonyms."""
        s = self.signature
        plain = [w for i, w in enumerate(s.words) if i not in s.proper]
        found = [noun_key(s.noun)]
        if plain and len(plain) < len(s.words):
            found.append(noun_key(" ".join(plain)))
        found += [noun_key(synonym) for synonym in self.synonyms]
        return tuple(dict.fromkeys(found))

    @property
    def lists_on_its_own(self) -> bool:
        """Whether it reads a list with no input required (`read some SMS messages`): what a watch polls."""
        return self.output.plural and not any(i.required for i in self.inputs)

    def input(self, name: str) -> InputConcept | None:
        return next((i for i in self.inputs if i.name == name or i.param == name), None)

    def read(self, client: Any, expression: Any = None, *, pushed: Any = None, offset: int = 0,
             limit: int | None = None, inputs: Mapping[str, Any] | None = None, downloads: Any = None,
             conversation: Any = None) -> Any:
        """Call the procedure with its reserved parameters filled in: the client, the filter (whole, and the
        part pushed down: `pushed`, else split from `expression` by `pushable`), the page, the downloads
        folder. What it returns, unfiltered: the caller applies the whole expression to the items."""
        kwargs: dict[str, Any] = dict(inputs or {})
        if self.takes_expression:
            kwargs["filter_expression"] = expression
        if self.takes_pushed:
            if pushed is None:
                pushed = expression.pushdown(self.pushable) if expression is not None else NO_PUSHDOWN
            kwargs["pushed"] = pushed
        if self.page_capable:
            kwargs["offset"], kwargs["limit"] = offset, limit
        if self.takes_client:
            kwargs["client"] = client
        if self.converses is not None:
            kwargs["conversation"] = conversation
        if self.writes_files:
            if downloads is None:
                raise BookError(f"'{self.english}' writes a file, and no downloads folder was given for it")
            kwargs["downloads"] = downloads
        return self.function(**kwargs)


@dataclass
class Registry:
    """All procedures the compiler can call, keyed by verb and singular noun; and how the book's lists
    are watched (`book.watching.watch.Watchable`s, declared by the book: `watch for new ...`)."""

    procedures: dict[tuple[str, str], Procedure] = field(default_factory=dict)
    watchables: list[Any] = field(default_factory=list)
    conversations: list[Any] = field(default_factory=list)
    """The conversations the book's triggers provide (`book.conversation.Conversing`): `answer each ... as follows`."""
    program: str = "book"  # the book's command, for hints (`PROGRAM procedures`)
    watch_report: Any = None
    """What the compiler takes a `watch for new ...` line to give: None for `book.watching.watch.WatchReport`
    itself; a snapshot's stand-in of it (`book.snapshot`)."""

    def register(self, procedure: Procedure) -> None:
        existing = self.procedures.get(procedure.key)
        if existing is not None:
            raise AuthoringError(
                f"two procedures answer the same English {procedure.english!r}:\n"
                f"  {existing.phrase!r} at {existing.location}\n"
                f"  {procedure.phrase!r} at {procedure.location}\n"
                "rename one of the phrases (a different verb or noun)"
            )
        self.procedures[procedure.key] = procedure

    def merge(self, other: Registry) -> None:
        for procedure in other.procedures.values():
            self.register(procedure)
        self.watchables.extend(other.watchables)
        self.conversations.extend(other.conversations)

    def conversing(self, noun: str) -> Any:
        """The conversation `answer each <noun>` names (its noun, singular or plural, or its last words), or None."""
        key = noun_key(noun)
        for kind in self.conversations:
            words = noun_key(kind.noun).split()
            if key == " ".join(words) or key == words[-1]:
                return kind
        return None

    def __iter__(self):
        return iter(sorted(self.procedures.values(), key=lambda p: (p.signature.noun.lower(), p.signature.verb)))

    def __len__(self) -> int:
        return len(self.procedures)

    def find(self, verb: str, noun: str) -> Procedure | None:
        """The one procedure `verb noun` calls (see `lookup`), or None when none does or several could."""
        found = self.lookup(verb, noun)
        return found[0] if len(found) == 1 else None

    def lookup(self, verb: str, noun: str) -> list[Procedure]:
        """The procedures `verb noun` may call: the one whose verb and noun it is, else those it names by a
        shorter noun or a synonym (`read the calls`, `send an SMS`); `get`, `list`, `find`, `fetch`, `retrieve`
        and `show` are `read` where no procedure of the book takes that verb. Several: the call is ambiguous."""
        verb, key = verb.lower(), noun_key(noun)
        exact = self.procedures.get((verb, key))
        if exact is not None:
            return [exact]
        verbs = {verb}
        if verb in READ_ALIASES and verb not in self._verbs():
            verbs.add("read")
        exact = self.procedures.get(("read", key)) if "read" in verbs else None
        if exact is not None:
            return [exact]
        return [p for p in self.procedures.values() if p.signature.verb in verbs and key in p.nouns]

    def said_as(self, procedure: Procedure) -> list[str]:
        """The nouns that call `procedure` and no other (its own noun first), for the reference."""
        verb = procedure.signature.verb
        return [noun for noun in procedure.nouns if self.lookup(verb, noun) == [procedure]]

    def _verbs(self) -> set[str]:
        return {v for v, _ in self.procedures}

    def readers(self, noun: str) -> list[Procedure]:
        """The procedures that list this noun with no inputs required (`read some SMS messages`), `read` first;
        a shorter noun or a synonym names them too, when it names no other (`watch for new texts`)."""
        key = noun_key(noun)
        found = [p for (v, n), p in self.procedures.items() if n == key and p.lists_on_its_own]
        if not found:
            found = [p for p in self.procedures.values() if key in p.nouns and p.lists_on_its_own]
        return sorted(found, key=lambda p: (p.signature.verb != "read", p.signature.verb))

    def suggest(self, verb: str, noun: str) -> str | None:
        """A hint naming the nearest known procedures for an unknown call."""
        wanted = f"{verb.lower()} {noun_key(noun)}"
        names = {f"{v} {n}": p for (v, n), p in self.procedures.items()}
        hint = did_you_mean(wanted, list(names))
        if hint:
            close = [names[n.strip("'")] for n in hint[len("did you mean ") : -1].split(" or ")]
            return "did you mean " + " or ".join(repr(p.english) for p in close) + "?"
        same_noun = [p for (v, n), p in self.procedures.items() if n == noun_key(noun)]
        if same_noun:
            return "with this noun the book knows: " + ", ".join(repr(p.english) for p in same_noun)
        return None

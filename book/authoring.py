"""The authoring API: a `Book` whose `procedure` decorator turns a documented function into English.

    acme = Book("Acme", description="...", app=App(program="acme-book", service="Acme"))

    @acme.procedure("to send an *Acme* note")
    def send_note(client, recipient: str, text: str) -> str:
        '''Send a note to someone with the Acme API.

        Input Concepts:
            the recipient: Who the note is for
            the text: What it says
        Output Concepts:
            answer: The ID of the note sent.
        Example 1:
            Send a note
            >>> send an Acme note where
            ...   the recipient is "ada"
            ...   the text is "Hello!"
        '''

`@book.procedure(phrase, synonyms=("memos",), prepositions={"saying": "text"})`: other nouns an automation may
call it by, and what a one-line call's prepositions bind (`send an Acme note to "ada" saying "Hello!"`).

Reserved parameters: `client` (the connection's client, made by the book's `client_factory`),
`downloads` (the session's `book.files.DownloadFolder`, for a procedure that writes files: the only
place it may write them),
`pushed` (FILTER-CAPABLE: the `book.filters.Pushdown` of the conditions its API takes, declared with
`pushable=`: field -> operators), `filter_expression` (the whole filter, for a procedure that wants it),
`offset` and `limit` (page-capable). Every other parameter is an input concept, bound by name; its type
and default come from the annotation and the signature. The runtime applies the whole filter to what a
FILTER-CAPABLE procedure yields, so pushing a condition down only saves reading.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from book.app import App
from book.concept import Concept
from book.docstrings import parse_docstring
from book.errors import AuthoringError, EnglishSyntaxError
from book.naming import english, noun_key, param_name
from book.registry import InputConcept, OutputConcept, Procedure, Registry
from grammar.ast import Call
from grammar.signature import parse_signature

RESERVED = {"client", "downloads", "filter_expression", "pushed", "offset", "limit", "conversation"}
RESERVED_VERBS = {"the", "use", "convert", "get", "process", "a", "an", "some", "all", "if", "otherwise", "else",
                  "say", "stop", "add", "subtract", "sort", "answer", "hang"}
PREPOSITIONS = ("to", "from", "saying", "after", "before", "on")
"""The words a one-line call's prepositions end with (the grammar's); a procedure says what each binds."""
READ_ONLY_VERBS = {"read", "list", "find", "download", "check", "look", "count", "watch", "search"}


class Book:
    """A named set of procedures and concepts, with how to connect and how to make a client.

    `app` says who the book runs as (`book.app.App`: its command, its service, its home folder);
    `connection_methods` are the `book.connections.ConnectionMethod`s a user chooses from;
    `verify_connection(connection)` asks the service whether a connection's credentials work and returns a
    name to show for it (raising `AuthenticationError` when they are refused); `client_factory(connection)`
    makes the client the procedures take; `sandbox(home)`, if given, starts a local stand-in for the service
    (a `book.session.LocalService`) that sessions fall back on when no connection is configured;
    `default_rate` is how many sends a second go out from one sender on a connection that sets no rate
    (`book.pacing`; the sandbox is never paced unless asked).
    """

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        connection_methods: tuple[Any, ...] = (),
        verify_connection: Callable[[Any], str] | None = None,
        client_factory: Callable[[Any], Any] | None = None,
        sandbox: Callable[[Path], Any] | None = None,
        app: App | None = None,
        registry: Registry | None = None,
        default_rate: float | None = None,
    ) -> None:
        self.name = name
        self.default_rate = default_rate
        self.app = app if app is not None else App(program=name.lower().replace(" ", "-"), service=name)
        self.sandbox = sandbox
        self.description = description
        self.connection_methods = tuple(connection_methods)
        self.verify_connection = verify_connection
        self.client_factory = client_factory
        self.registry = registry if registry is not None else Registry()
        self.registry.program = self.app.program
        self.concepts: dict[str, type] = {}

    def __repr__(self) -> str:
        return f"Book({self.name!r}, {len(self.registry)} procedures)"

    def all_concepts(self) -> dict[str, type]:
        """Concept name -> class: the book's concepts, and every concept a procedure takes or returns
        (or a concept's field holds), sorted by name."""
        found: dict[str, type] = {}

        def visit(annotation: Any) -> None:
            if isinstance(annotation, type) and issubclass(annotation, Concept):
                if annotation.concept_name and annotation.concept_name not in found:
                    found[annotation.concept_name] = annotation
                    for field in annotation.model_fields.values():
                        visit(field.annotation)
                return
            for arg in typing.get_args(annotation):
                visit(arg)

        for concept in self.concepts.values():
            visit(concept)
        for procedure in self.registry:
            visit(procedure.output.type)
            for item in procedure.inputs:
                visit(item.annotation)
        return dict(sorted(found.items()))

    def conversation(self, noun: str, *, facts: Mapping[str, type], turn: Mapping[str, type], runs_in: str,
                     description: str = "") -> Any:
        """Declare a conversation the book's trigger provides: `answer each <noun> as follows` binds `facts` for a
        whole conversation and `turn` anew each turn; `runs_in` names the command that runs it (a hint)."""
        from book.conversation import Conversing

        kind = Conversing(noun, MappingProxyType(dict(facts)), MappingProxyType(dict(turn)), runs_in, description)
        self.registry.conversations.append(kind)
        for concept in (*facts.values(), *turn.values()):
            if getattr(concept, "concept_name", ""):
                self.concept(concept)
        return kind

    def concept(self, cls: type) -> type:
        """Register a concept class (done for every output concept automatically)."""
        self.concepts[cls.concept_name] = cls
        return cls

    def procedure(
        self, phrase: str, *, mutating: bool | None = None, pushable: Mapping[str, Collection[str]] | None = None,
        find_sent: Callable[..., list[Any]] | None = None,
        synonyms: Collection[str] = (), prepositions: Mapping[str, str] | None = None,
        converses: Any = None, resume: Callable[..., Any] | None = None, paced_by: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a procedure by its English phrase; the function's docstring is its documentation.

        `pushable` (a FILTER-CAPABLE read: field -> operators, like `{"sender_number": {"eq"}}`) says which
        conditions its API applies itself; the compiler hands those to the procedure as `pushed`.
        `find_sent` (a send) finds what an earlier attempt of a call sent when its outcome was lost
        (`Procedure.find_sent`), so a durable run can tell whether to send again.
        `synonyms` are other nouns an automation may call it by (`("texts", "SMS")`: `send an SMS`).
        `prepositions` say what a one-line call binds: words ending with to, from, saying, after, before or on
        -> an input's parameter, or a field of what a FILTER-CAPABLE read returns (`{"to": "recipient_number",
        "sent after": "date_sent"}`: `read the messages sent after yesterday` filters on the date sent).
        `converses` (a `book.conversation.Conversing`) lets a call have a conversation block (`... as follows`)
        binding those facts; the function takes `conversation` (a `Converse`, or None without a block).
        `resume(client, found, inputs)` (with `find_sent`) carries a send that goes on after it sent (it waits for
        the call it placed to end) on from what an earlier attempt sent.
        `paced_by` (a send) names the input that is its sender (`"sender_number"`): sends from one sender go out at
        most at the connection's rate (`book.pacing`), also from the items of a loop run side by side.
        """
        signature = parse_signature(phrase)
        if signature.verb in RESERVED_VERBS:
            raise AuthoringError(f"the phrase {phrase!r} uses the verb {signature.verb!r}, which the English reserves; choose another verb")

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            procedure = _build(self, signature, function, mutating, pushable)
            if find_sent is not None:
                if not procedure.mutating:
                    raise AuthoringError(f"{procedure.location} ({phrase!r}): find_sent= is for a procedure that "
                                         "sends or changes something, and this one only reads")
                procedure = dataclasses.replace(procedure, find_sent=find_sent, resume=resume)
            elif resume is not None:
                raise AuthoringError(f"{procedure.location} ({phrase!r}): resume= carries on from what find_sent= "
                                     "found; give find_sent= too")
            if paced_by is not None:
                if not procedure.mutating or all(i.param != paced_by for i in procedure.inputs):
                    raise AuthoringError(f"{procedure.location} ({phrase!r}): paced_by= names the input that is a "
                                         f"send's sender, and {paced_by!r} is not an input of a procedure that sends "
                                         f"(its inputs: {', '.join(i.param for i in procedure.inputs) or 'none'})")
                procedure = dataclasses.replace(procedure, paced_by=paced_by)
            if converses is not None:
                if "conversation" not in inspect.signature(function).parameters:
                    raise AuthoringError(f"{procedure.location} ({phrase!r}): converses= is declared, but the function "
                                         "has no 'conversation' parameter to receive the conversation block")
                procedure = dataclasses.replace(procedure, converses=converses)
            procedure = dataclasses.replace(procedure, synonyms=_synonyms(procedure, synonyms),
                                            prepositions=_prepositions(procedure, prepositions))
            _check_callable(procedure)
            self.registry.register(procedure)
            if isinstance(procedure.output.type, type) and getattr(procedure.output.type, "concept_name", ""):
                self.concept(procedure.output.type)
            function.__procedure__ = procedure  # type: ignore[attr-defined]
            return function

        return register


def _location(function: Callable[..., Any]) -> str:
    """`file:line` of the function's definition (its first decorator's line, as `inspect.getsourcelines` says),
    from its code object: no source is read."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    try:
        file = inspect.getsourcefile(function) if code is not None else None
    except TypeError:
        file = None
    if code is None or file is None:
        return f"{getattr(function, '__module__', '?')}:0"
    return f"{file}:{code.co_firstlineno}"


def _check_callable(procedure: Procedure) -> None:
    """The phrase must read back as a call of this procedure, or no automation could ever call it."""
    from grammar.parser import parse  # the automation grammar, needed only from the first registration

    where = f"{procedure.location} ({procedure.phrase!r})"
    try:
        statements = parse(procedure.english).statements
    except EnglishSyntaxError as err:
        raise AuthoringError(
            f"{where}: an automation could not say {procedure.english!r} ({err.problems[0].message}); "
            "a verb or noun can't use the words the English keeps for itself, like 'and', 'or', 'in', 'to', 'as'"
        ) from None
    call = statements[0] if len(statements) == 1 else None
    said = (call.verb.text.lower(), noun_key(call.noun.text)) if isinstance(call, Call) else None
    if said != procedure.key:
        raise AuthoringError(f"{where}: {procedure.english!r} does not read back as a call of this procedure; choose other words")


def _annotations(function: Callable[..., Any], where: str) -> dict[str, Any]:
    """Evaluate each annotation on its own, so `client: Client` under TYPE_CHECKING needs no import."""
    raw = inspect.get_annotations(function)
    out: dict[str, Any] = {}
    for name, annotation in raw.items():
        if name in ("client", "downloads", "conversation"):
            continue
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, function.__globals__, {})
            except Exception as err:
                raise AuthoringError(f"{where}: the annotation of {name!r} ({annotation!r}) does not evaluate: {err}") from None
        out[name] = annotation
    return out


def _output_type(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    iterables = (list, tuple, collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator)
    if origin in iterables:
        args = typing.get_args(annotation)
        return (args[0] if args else Any), True
    return annotation, False


def _build(book: Book, signature: Any, function: Callable[..., Any], mutating: bool | None,
           pushable: Mapping[str, Collection[str]] | None) -> Procedure:
    location = _location(function)
    where = f"{location} ({signature.phrase!r})"
    doc = parse_docstring(function.__doc__)
    if not doc.summary:
        raise AuthoringError(f"{where}: the procedure has no docstring; its first line is its documentation")
    annotations = _annotations(function, where)
    params = inspect.signature(function).parameters
    documented = {param_name(n): (n, d) for n, d in doc.inputs.items()}
    inputs = []
    for name, param in params.items():
        if name in RESERVED:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise AuthoringError(f"{where}: *args and **kwargs cannot be input concepts; name each input")
        if name not in annotations:
            raise AuthoringError(f"{where}: the input {name!r} has no type annotation")
        if name not in documented:
            raise AuthoringError(
                f"{where}: the input {name!r} is not documented; add 'the {english(name)}: <description>' under 'Input Concepts:'"
            )
        english_name, description = documented.pop(name)
        required = param.default is inspect.Parameter.empty
        inputs.append(
            InputConcept(english_name, name, annotations[name], required, None if required else param.default, description)
        )
    if documented:
        extra = ", ".join(repr(n) for n, _ in documented.values())
        raise AuthoringError(f"{where}: 'Input Concepts:' documents {extra}, which the function does not take")

    if "return" not in annotations:
        raise AuthoringError(f"{where}: annotate the return type (a concept, a list of concepts, or str)")
    out_type, plural = _output_type(annotations["return"])
    if doc.outputs:
        out_name, out_description = next(iter(doc.outputs.items()))
    else:
        out_name = signature.output_words or getattr(out_type, "concept_name", "") or "answer"
        out_description = doc.returns
    concept_name = getattr(out_type, "concept_name", "")
    output = OutputConcept(concept_name or out_name.lower(), out_description or doc.returns, out_type, plural)

    takes_pushed, takes_expression = "pushed" in params, "filter_expression" in params
    filter_capable = takes_pushed or takes_expression
    page_capable = "offset" in params and "limit" in params
    if filter_capable and not plural:
        raise AuthoringError(f"{where}: a FILTER-CAPABLE procedure must return a list or an iterator of concepts")
    pushed = _pushable(where, pushable, out_type, takes_pushed)
    if mutating is None:
        mutating = signature.verb not in READ_ONLY_VERBS
    return Procedure(
        signature=signature,
        function=function,
        book=book.name,
        inputs=tuple(inputs),
        output=output,
        filter_capable=filter_capable,
        page_capable=page_capable,
        takes_client="client" in params,
        mutating=mutating,
        summary=doc.summary,
        description=doc.description,
        examples=tuple(doc.examples),
        location=location,
        pushable=pushed,
        takes_pushed=takes_pushed,
        takes_expression=takes_expression,
        writes_files="downloads" in params,
    )


_OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "contains", "not_contains", "starts_with", "ends_with",
                        "one_of", "empty", "not_empty"})


def _pushable(where: str, pushable: Mapping[str, Collection[str]] | None, concept: Any,
              takes_pushed: bool) -> Mapping[str, frozenset[str]]:
    """The declared pushdown, checked: a `pushed` parameter to receive it, and real fields and operators."""
    if not pushable:
        return MappingProxyType({})
    if not takes_pushed:
        raise AuthoringError(f"{where}: pushable= is declared, but the function has no 'pushed' parameter to "
                             "receive the conditions pushed down")
    fields = getattr(concept, "model_fields", {})
    out = {}
    for name, ops in pushable.items():
        if name not in fields:
            raise AuthoringError(f"{where}: pushable= names {name!r}, which a {getattr(concept, 'concept_name', concept)} "
                                 f"does not have; its fields are {', '.join(fields)}")
        unknown = sorted(set(ops) - _OPERATORS)
        if unknown:
            raise AuthoringError(f"{where}: pushable= gives {name!r} unknown operators {', '.join(unknown)}; "
                                 f"use {', '.join(sorted(_OPERATORS))}")
        out[name] = frozenset(ops)
    return MappingProxyType(out)


def _synonyms(procedure: Procedure, synonyms: Collection[str]) -> tuple[str, ...]:
    """The declared synonyms, each a noun an automation can say (no keyword in it)."""
    if isinstance(synonyms, str):
        synonyms = (synonyms,)
    where = f"{procedure.location} ({procedure.phrase!r})"
    out = []
    for synonym in synonyms:
        words = synonym.split()
        if not words or not all(w.replace("-", "").isalnum() and w[0].isalpha() for w in words):
            raise AuthoringError(f"{where}: the synonym {synonym!r} must be words (letters, digits and hyphens)")
        said = f"{procedure.signature.verb} some {' '.join(words)}"
        if not _reads_back(said, procedure.signature.verb, " ".join(words)):
            raise AuthoringError(f"{where}: an automation could not say {said!r}; a synonym can't use the words the "
                                 "English keeps for itself, like 'whose', 'where', 'with', 'to', 'from'")
        out.append(" ".join(words))
    return tuple(out)


def _reads_back(text: str, verb: str, noun: str) -> bool:
    """Whether `text` parses as one call of `verb` on `noun`."""
    from grammar.parser import parse  # the automation grammar, needed only from the first registration

    try:
        statements = parse(text).statements
    except EnglishSyntaxError:
        return False
    call = statements[0] if len(statements) == 1 else None
    return isinstance(call, Call) and (call.verb.text.lower(), noun_key(call.noun.text)) == (verb, noun_key(noun))


def _prepositions(procedure: Procedure, prepositions: Mapping[str, str] | None) -> Mapping[str, str]:
    """The declared prepositions, checked: each ends with a preposition of the grammar and binds an input or,
    for a FILTER-CAPABLE read, a field of its concept."""
    if not prepositions:
        return MappingProxyType({})
    where = f"{procedure.location} ({procedure.phrase!r})"
    fields = getattr(procedure.output.type, "model_fields", {}) if procedure.filter_capable else {}
    params = {i.param for i in procedure.inputs}
    out = {}
    for words, target in prepositions.items():
        key = " ".join(words.lower().split())
        if not key or key.split()[-1] not in PREPOSITIONS:
            raise AuthoringError(f"{where}: the preposition {words!r} must end with one of {', '.join(PREPOSITIONS)}")
        if target not in params and target not in fields:
            known = sorted(params | set(fields))
            raise AuthoringError(f"{where}: the preposition {words!r} binds {target!r}, which is neither an input nor "
                                 f"a field it can filter on; use one of {', '.join(known) or '(none)'}")
        out[key] = target
    return MappingProxyType(out)

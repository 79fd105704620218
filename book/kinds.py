"""What kind of thing a type is, and how the English names it, without importing pydantic.

The compiler asks of a type whether it is a concept (`is_concept`), how a table names it (`type_words`) and how a
sentence does (`type_phrase`). A type is a concept when it is a subclass of `book.concept.Concept` (a pydantic
model) or of `ConceptShape`, the stand-in a registry snapshot (`book.snapshot`) makes of a concept: its name,
fields and field types, with none of pydantic. Neither check imports pydantic: while `book.concept` is not
imported, no type can be one of its concepts.

An annotation of a snapshot marks its checks with `AfterCheck` (pydantic's `AfterValidator`, as `book.values`
runs it) and `BeforeCheck` (`BeforeValidator`), and a sensitive text with `SecretText` (pydantic's `SecretStr`).
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

__all__ = ["AfterCheck", "BeforeCheck", "ConceptShape", "SecretText", "is_concept", "type_phrase", "type_words"]


class ConceptShape:
    """A concept as a registry snapshot knows it: its name and its fields with their types and descriptions.

    The class methods are those of `book.concept.Concept` that the compiler asks; `model_fields` maps each field
    to a `FieldShape` (its `annotation` and `description`), as pydantic's `model_fields` does."""

    concept_name: ClassVar[str] = ""
    model_fields: ClassVar[dict[str, FieldShape]] = {}
    live: ClassVar[tuple[str, str]] = ("", "")
    """The module and qualified name of the concept this stands for."""

    @classmethod
    def english_fields(cls) -> dict[str, str]:
        return dict(cls.__dict__["_english"])

    @classmethod
    def resolve_field(cls, words: str) -> str | None:
        from book.naming import normal

        return cls.__dict__["_english"].get(normal(words).replace("_", " "))

    @classmethod
    def field_type(cls, name: str) -> Any:
        return cls.model_fields[name].annotation

    @classmethod
    def field_description(cls, name: str) -> str:
        return cls.model_fields[name].description or ""


@dataclass(frozen=True, slots=True)
class FieldShape:
    """A field of a `ConceptShape`: its type and its description."""

    annotation: Any
    description: str | None = None


@dataclass(frozen=True, eq=False, slots=True)
class AfterCheck:
    """A check run on a value after its type's (pydantic's `AfterValidator`), in a snapshot's annotation."""

    func: Callable[..., Any]


@dataclass(frozen=True, eq=False, slots=True)
class BeforeCheck:
    """A conversion run on a value before its type's (pydantic's `BeforeValidator`), in a snapshot's annotation."""

    func: Callable[..., Any]


class SecretText:
    """A sensitive text, in a snapshot's annotation (pydantic's `SecretStr`): its values are never shown."""


SecretText.__name__ = "SecretStr"  # as the reference names it (`type_words`)


def is_concept(t: Any) -> bool:
    """Whether `t` is a concept class: a `book.concept.Concept` or a snapshot's `ConceptShape`."""
    if not isinstance(t, type):
        return False
    if issubclass(t, ConceptShape):
        return True
    concept = sys.modules.get("book.concept")  # not imported: no type is one of its concepts
    return concept is not None and issubclass(t, concept.Concept)


_TYPE_WORDS = {str: "text", int: "number", float: "number", bool: "boolean", datetime: "datetime", date: "date"}


def type_words(annotation: Any) -> str:
    """How the reference names a type: `str | None` -> `optional[text]`, `list[X]` -> `list[x]`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_words(args[0])
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = " | ".join(type_words(a) for a in rest)
        return f"optional[{inner}]" if len(rest) < len(args) else inner
    if origin in (list, tuple, set, frozenset) or origin is typing.Iterator or origin is typing.Iterable:
        return f"list[{type_words(args[0])}]" if args else "list"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if is_concept(annotation):
        return annotation.concept_name
    if getattr(annotation, "__name__", "") == "SecretStr":
        return "sensitive"
    if annotation in _TYPE_WORDS:
        return _TYPE_WORDS[annotation]
    return getattr(annotation, "__name__", str(annotation)).lower()


_TYPE_PHRASES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
                 datetime: "a date and time", date: "a date"}


def type_phrase(annotation: Any) -> str:
    """A type as a sentence names it, for messages: `int | None` -> `a whole number`, `datetime` -> `a date and
    time`, `list[X]` -> `a list of x`; the reference's `type_words` is for tables."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return type_phrase(args[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(type_phrase(a) for a in rest)) if rest else "nothing"
    if is_concept(annotation):
        name = annotation.concept_name
        return ("an " if name[:1].lower() in "aeiou" else "a ") + name
    if annotation in _TYPE_PHRASES:
        return _TYPE_PHRASES[annotation]
    words = type_words(annotation)
    return "a list of " + words[5:-1] if words.startswith("list[") else words

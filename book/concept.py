"""The base of every concept: a pydantic model with an English concept name and described fields."""

from __future__ import annotations

import inspect
import typing
import weakref
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from book.naming import english, normal


class Concept(BaseModel):
    """A typed thing the book reads or returns; subclasses set `concept_name` and document each field."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="ignore", populate_by_name=True, defer_build=True)

    concept_name: ClassVar[str] = ""

    @classmethod
    def summary(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

    @classmethod
    def description(cls) -> str:
        return " ".join((inspect.getdoc(cls) or "").split())

    @classmethod
    def english_fields(cls) -> dict[str, str]:
        """English name -> field name: `sender number` -> `sender_number`."""
        return dict(_english_fields(cls))

    @classmethod
    def resolve_field(cls, words: str) -> str | None:
        """The field an English name refers to (`date sent`, `Date_Sent`), or None."""
        key = normal(words).replace("_", " ")
        return _english_fields(cls).get(key)

    @classmethod
    def field_type(cls, name: str) -> Any:
        return cls.model_fields[name].annotation

    @classmethod
    def field_description(cls, name: str) -> str:
        return cls.model_fields[name].description or ""


_FIELDS: weakref.WeakKeyDictionary[type, dict[str, str]] = weakref.WeakKeyDictionary()


def _english_fields(cls: type[Concept]) -> dict[str, str]:
    """A concept class's English field names, worked out once per class (the compiler asks for every field)."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {english(name): name for name in cls.model_fields}
    return found


_TYPE_WORDS = {str: "text", int: "number", float: "number", bool: "boolean", datetime: "datetime", date: "date"}


def type_words(annotation: Any) -> str:
    """How the reference names a type: `str | None` -> `optional[text]`, `list[X]` -> `list[x]`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_words(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        rest = [a for a in args if a is not type(None)]
        inner = " | ".join(type_words(a) for a in rest)
        return f"optional[{inner}]" if len(rest) < len(args) else inner
    if origin in (list, tuple, set, frozenset) or origin is typing.Iterator or origin is typing.Iterable:
        return f"list[{type_words(args[0])}]" if args else "list"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, Concept):
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
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        rest = [a for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(type_phrase(a) for a in rest)) if rest else "nothing"
    if isinstance(annotation, type) and issubclass(annotation, Concept):
        name = annotation.concept_name
        return ("an " if name[:1].lower() in "aeiou" else "a ") + name
    if annotation in _TYPE_PHRASES:
        return _TYPE_PHRASES[annotation]
    words = type_words(annotation)
    return "a list of " + words[5:-1] if words.startswith("list[") else words

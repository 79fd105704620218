"""Checking and converting values to the types that fields and inputs declare (with pydantic).

A value that is already of its type, or a text with only after-checks, is checked without pydantic (which is
imported only for the rest). An annotation of a registry snapshot (`book.snapshot`) that pydantic must see is
given to it as the live annotation it stands for (`stands_for`).
"""

from __future__ import annotations

import re
import sys
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, timezone
from functools import lru_cache
from types import FunctionType
from typing import Any

from book.dates import DateTextError, parse_date_text
from book.kinds import AfterCheck, SecretText, type_phrase

if typing.TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

# The types `convert ... to a <type>` knows.
CONVERSIONS: dict[str, Any] = {
    "datetime": datetime,
    "date and time": datetime,
    "date": date,
    "number": float,
    "decimal": float,
    "integer": int,
    "whole number": int,
    "text": str,
    "string": str,
    "boolean": bool,
}


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Invalid(Exception):
    """A value that does not fit its type; the message says why, in words."""


@lru_cache(maxsize=256)
def _adapter(annotation: Any) -> TypeAdapter:
    from pydantic import TypeAdapter

    return TypeAdapter(annotation)


def _explain(err: ValidationError) -> str:
    return _in_words(str(err.errors()[0].get("msg", "is invalid")))


def _in_words(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[0].lower() + message[1:] if message else "is invalid"


def wants_a_date(annotation: Any) -> bool:
    """Whether `annotation` takes a date or a datetime (beside None)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return wants_a_date(typing.get_args(annotation)[0])
    return any(isinstance(a, type) and issubclass(a, date) for a in (typing.get_args(annotation) or (annotation,)))


@lru_cache(maxsize=256)
def _text_checks(annotation: Any) -> tuple[Callable[[str], Any], ...] | None:
    """The checks of a text type, `Annotated[str, AfterValidator(check), ...]` with each check taking the value
    alone (as most do), in order; None for any other type. A text is checked with them as pydantic would,
    without building a validator (and loading pydantic's plugins) for it. A snapshot's `AfterCheck` is an
    `AfterValidator` (`book.snapshot`)."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    base, *metadata = typing.get_args(annotation)
    checks = tuple(getattr(m, "func", None) for m in metadata)
    if base is not str or not all(isinstance(m, _after_validators()) for m in metadata) or not all(
            isinstance(check, FunctionType) and check.__code__.co_argcount == 1 for check in checks):
        return None
    return checks  # type: ignore[return-value]


def _after_validators() -> tuple[type, ...]:
    """pydantic's `AfterValidator` (when pydantic is imported: else no annotation holds one) and a snapshot's."""
    pydantic = sys.modules.get("pydantic")
    return (AfterCheck, pydantic.AfterValidator) if pydantic is not None else (AfterCheck,)


_PLAIN = (str, int, float, bool, date, datetime)
"""The types a value of exactly that type passes as it is, for pydantic (lax or strict alike): no validator is built
for them (its first one would load pydantic's plugins, `importlib.metadata` among them)."""


@lru_cache(maxsize=256)
def _passes_as_is(annotation: Any) -> tuple[frozenset[type], frozenset[str]] | None:
    """What passes `annotation` unchanged: the exact types (`str`, `str | None`: str and NoneType) and the texts (a
    `Literal` of texts); None when pydantic is asked (any other type, and whatever fails: its message is pydantic's)."""
    origin = typing.get_origin(annotation)
    members = typing.get_args(annotation) if origin in (typing.Union, types.UnionType) else (annotation,)
    kinds, texts = set(), set()
    for member in members:
        if member is type(None) or member in _PLAIN:
            kinds.add(member)
        elif typing.get_origin(member) is typing.Literal and all(type(a) is str for a in typing.get_args(member)):
            texts.update(typing.get_args(member))
        else:
            return None
    if len(kinds - {type(None)}) + bool(texts) != 1:  # a choice between types: pydantic's union rules decide
        return None
    return frozenset(kinds), frozenset(texts)


def _checked_text(value: str, checks: tuple[Callable[[str], Any], ...]) -> Any:
    """`value` through `checks`, as pydantic runs after-validators: a ValueError or an AssertionError is `Invalid`."""
    for check in checks:
        try:
            value = check(value)
        except ValueError as err:
            raise Invalid(_in_words(f"Value error, {err}")) from None
        except AssertionError as err:
            raise Invalid(_in_words(f"Assertion failed, {err}")) from None
    return value


def is_datetime(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return annotation is datetime or datetime in args


def coerce(value: Any, annotation: Any) -> Any:
    """`value` as `annotation`, or `Invalid` with a reason. Dates stand for whole days beside datetimes."""
    if annotation is Any:
        return value
    if isinstance(value, str) and _DAY.fullmatch(value.strip()) and is_datetime(annotation):
        try:  # "2022-03-01" is a day, as 2022-03-01 is, not its midnight
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(f"{value.strip()} is not a real date") from None
    if isinstance(value, str) and wants_a_date(annotation):
        try:  # "December 3, 2026", "12/03/2026" (month first): see book.dates
            written = parse_date_text(value)
        except DateTextError as err:
            raise Invalid(str(err)) from None
        if written is not None:
            value = written
            if isinstance(value, datetime) and not is_datetime(annotation):
                raise Invalid(f"{describe(value)} is a date and time; give only the day, like {value.date().isoformat()}")
    if isinstance(value, date) and not isinstance(value, datetime) and is_datetime(annotation):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if allows_only(annotation, (str,)):
            raise Invalid(f"expected {type_phrase(annotation)}, got the number {value}; put text in double quotes")
        if allows_only(annotation, (date, datetime)):  # not a count of seconds since 1970
            raise Invalid(f"expected {type_phrase(annotation)}, got the number {value}; "
                          "write a date like 2022-03-01 or a datetime like 2022-03-01T15:00:00Z")
    try:
        checks = _text_checks(annotation) if type(value) is str else None
    except TypeError:  # an unhashable annotation
        checks = None
    if checks is not None:
        return _checked_text(value, checks)
    try:
        passes = _passes_as_is(annotation)
    except TypeError:  # an unhashable annotation
        passes = None
    if passes is not None and (type(value) in passes[0] or (type(value) is str and value in passes[1])):
        return value
    return _by_pydantic(value, live_annotation(annotation))


def _by_pydantic(value: Any, annotation: Any) -> Any:
    """`value` as pydantic validates it for `annotation` (a validator built for it: pydantic imported)."""
    from pydantic import TypeAdapter, ValidationError

    try:
        adapter = _adapter(annotation)
    except TypeError:  # an unhashable annotation: build it fresh
        adapter = TypeAdapter(annotation)
    try:
        return adapter.validate_python(value)
    except ValidationError as err:
        raise Invalid(_explain(err)) from None


_LIVE: dict[int, tuple[Any, Callable[[], Any]]] = {}


def stands_for(annotation: Any, live: Callable[[], Any]) -> None:
    """Say that `annotation` (a registry snapshot's, `book.snapshot`) stands for the annotation `live()` gives: what
    pydantic is given for it when a value must be validated by pydantic (its checks and conversions are the book's)."""
    _LIVE[id(annotation)] = (annotation, live)


def live_annotation(annotation: Any) -> Any:
    """The annotation a snapshot's annotation stands for (see `stands_for`), else `annotation` itself."""
    found = _LIVE.get(id(annotation))
    if found is None or found[0] is not annotation:
        return annotation
    return found[1]()


def convert(value: Any, annotation: Any) -> Any:
    """`convert ... to a <type>`: as `coerce`, but a day asked for as a datetime is its midnight, UTC."""
    result = coerce(value, annotation)
    if annotation is datetime and isinstance(result, date) and not isinstance(result, datetime):
        return datetime(result.year, result.month, result.day, tzinfo=timezone.utc)
    return result


def allows_only(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether every type `annotation` allows, besides None, is one of `kinds`."""
    if typing.get_origin(annotation) is typing.Annotated:
        return allows_only(typing.get_args(annotation)[0], kinds)
    args = [a for a in (typing.get_args(annotation) or (annotation,)) if a is not type(None)]
    return bool(args) and all(a in kinds for a in args)


def is_secret(annotation: Any) -> bool:
    """Whether `annotation` is (or may be) a `SecretStr` (or a snapshot's `SecretText`): its values are never shown."""
    pydantic = sys.modules.get("pydantic")  # not imported: no annotation holds its SecretStr
    if annotation is SecretText or (pydantic is not None and annotation is pydantic.SecretStr):
        return True
    return any(is_secret(arg) for arg in typing.get_args(annotation))


def shown(value: Any, annotation: Any) -> str:
    """`describe(value)`, unless the place is sensitive: then only that a value was given."""
    return "the value given" if is_secret(annotation) else describe(value)


def describe(value: Any) -> str:
    """A value as a person would write it back: quoted text, numbers and ISO dates."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return repr(value)

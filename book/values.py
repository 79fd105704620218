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
from book.kinds import AfterCheck, BeforeCheck, SecretText, type_phrase

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
def _checks(annotation: Any) -> tuple[tuple[Callable[[Any], Any], ...], Any, tuple[Callable[[Any], Any], ...]] | None:
    """The parts of a checked type that are the book's own functions, for a value checked as pydantic would check it
    without building a validator (and loading pydantic's plugins) for it: `Annotated[T, BeforeValidator(f)...,
    AfterValidator(check)...]`, or that or None (`Optional[...]`: pydantic validates anything but None with it), T a
    plain type (`str`, `int`...) or a `Literal` of texts, each function taking the value alone (as most do). Gives
    (the conversions in the order they run: the last one written first, T, the checks in order); None for any other
    type. A snapshot's `AfterCheck` and `BeforeCheck` are pydantic's validators (`book.snapshot`)."""
    annotation = _unless_none(annotation)
    if annotation is _OTHER_UNION:
        return None
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    base, *metadata = typing.get_args(annotation)
    after, before = _validators()
    kinds = ["before" if isinstance(m, before) else "after" if isinstance(m, after) else None for m in metadata]
    functions = [getattr(m, "func", None) for m in metadata]
    if None in kinds or kinds != sorted(kinds, key=lambda k: k == "after") or not all(
            isinstance(f, FunctionType) and f.__code__.co_argcount == 1 and not f.__code__.co_kwonlyargcount
            for f in functions):
        return None  # (a check written before a conversion, or taking pydantic's info: pydantic's order and call)
    literal = typing.get_origin(base) is typing.Literal and all(type(a) is str for a in typing.get_args(base))
    if not literal and base not in _PLAIN:
        return None
    befores = tuple(f for f, k in zip(functions, kinds, strict=True) if k == "before")
    afters = tuple(f for f, k in zip(functions, kinds, strict=True) if k == "after")
    return befores[::-1], base, afters


def _checked(value: Any, parts: tuple[tuple[Callable[[Any], Any], ...], Any, tuple[Callable[[Any], Any], ...]]) -> Any:
    """`value` through a checked type's parts (`_checks`) as pydantic runs them: a ValueError or an AssertionError of
    a function is `Invalid`, in pydantic's words. `_UNDECIDED` when what the conversions give is not exactly of the
    type (pydantic decides: it converts, or refuses, in its own words)."""
    befores, base, afters = parts
    for convert_first in befores:
        value = _run(convert_first, value)
    if not (type(value) is base or typing.get_origin(base) is typing.Literal and type(value) is str
            and value in typing.get_args(base)):
        value = _converted(value, base)
        if value is _UNDECIDED:
            return _UNDECIDED
    for check in afters:
        value = _run(check, value)
    return value


_UNDECIDED = object()

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_DIGIT = re.compile(r"[0-9]")
_PLAIN_OPTION = re.compile(r"[A-Za-z0-9 _\-.:/+]*")


def _converted(value: Any, base: Any) -> Any:
    """`value` converted to `base` (`int`, `float`, `bool`, `str` or a `Literal` of texts) or refused, as pydantic does
    it (in lax mode, with its message), where that is certain; `_UNDECIDED` for the rest (pydantic is asked).

    Decided: a text with no digit is no whole number, nor a number unless it may be `inf` or `nan`; a text is true
    or false only as one of pydantic's words (`yes`, `off`...), any other without spaces is neither; a decimal is a
    whole number when it has no fraction; a whole number or true/false is a decimal; true/false is 1 or 0, and 1 or
    0 is true or false; true/false and numbers are no text; a value that is not one of a `Literal`'s texts is
    refused, naming them (when they are plain words)."""
    kind = type(value)
    if kind not in (str, int, float, bool):
        return _UNDECIDED
    if typing.get_origin(base) is typing.Literal:
        options = typing.get_args(base)
        if not all(type(o) is str and _PLAIN_OPTION.fullmatch(o) for o in options) or not options:
            return _UNDECIDED
        if kind is str and value in options:
            return value
        said = [f"'{o}'" for o in options]
        raise Invalid(_in_words("Input should be " + (said[0] if len(said) == 1 else
                                                        ", ".join(said[:-1]) + " or " + said[-1])))
    if base is int:
        if kind is bool:
            return int(value)
        if kind is float and abs(value) < 2 ** 53:
            if value.is_integer():
                return int(value)
            raise Invalid(_in_words("Input should be a valid integer, got a number with a fractional part"))
        if kind is str and not _DIGIT.search(value):
            raise Invalid(_in_words("Input should be a valid integer, unable to parse string as an integer"))
        return _UNDECIDED
    if base is float:
        if kind is bool or kind is int and abs(value) <= 2 ** 53:
            return float(value)
        if kind is str and not _DIGIT.search(value) and "inf" not in value.lower() and "nan" not in value.lower():
            raise Invalid(_in_words("Input should be a valid number, unable to parse string as a number"))
        return _UNDECIDED
    if base is bool:
        if kind is int and value in (0, 1):
            return bool(value)
        if kind is int and abs(value) < 2 ** 53:
            raise Invalid(_in_words("Input should be a valid boolean, unable to interpret input"))
        if kind is str and not any(c.isspace() for c in value):
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise Invalid(_in_words("Input should be a valid boolean, unable to interpret input"))
        return _UNDECIDED
    if base is str and kind is not str:
        raise Invalid(_in_words("Input should be a valid string"))
    return _UNDECIDED


_OTHER_UNION = object()


def _unless_none(annotation: Any) -> Any:
    """T for `T | None` (`Optional[T]`), `_OTHER_UNION` for any other union, else `annotation` itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1 or len(typing.get_args(annotation)) != 2:
            return _OTHER_UNION
        return members[0]
    return annotation


@lru_cache(maxsize=256)
def _single(annotation: Any) -> Any:
    """The type of `T` or `T | None` when T is `int`, `float`, `bool`, `str` or a `Literal` of texts (pydantic validates
    anything but None with T), else None."""
    annotation = _unless_none(annotation)
    if annotation is _OTHER_UNION:
        return None
    if annotation in (int, float, bool, str):
        return annotation
    literal = typing.get_origin(annotation) is typing.Literal
    return annotation if literal and all(type(a) is str for a in typing.get_args(annotation)) else None


def _run(function: Callable[[Any], Any], value: Any) -> Any:
    try:
        return function(value)
    except ValueError as err:
        raise Invalid(_in_words(f"Value error, {err}")) from None
    except AssertionError as err:
        raise Invalid(_in_words(f"Assertion failed, {err}")) from None


def _validators() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """pydantic's `AfterValidator` and `BeforeValidator` (when pydantic is imported: else no annotation holds one),
    with a snapshot's stand-ins of them."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return (AfterCheck,), (BeforeCheck,)
    return (AfterCheck, pydantic.AfterValidator), (BeforeCheck, pydantic.BeforeValidator)


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
    parts = _cached(_checks, annotation) if value is not None else None
    if parts is not None:
        checked = _checked(value, parts)
        if checked is not _UNDECIDED:
            return checked
    passes = _cached(_passes_as_is, annotation)
    if passes is not None and (type(value) in passes[0] or (type(value) is str and value in passes[1])):
        return value
    single = _cached(_single, annotation) if value is not None else None
    if single is not None:
        converted = _converted(value, single)
        if converted is not _UNDECIDED:
            return converted
    return _by_pydantic(value, live_annotation(annotation))


def _cached(read: Callable[[Any], Any], annotation: Any) -> Any:
    """`read(annotation)` (one of the cached readings of an annotation above), or None for an unhashable one."""
    try:
        return read(annotation)
    except TypeError:
        return None


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

"""Arithmetic and comparisons on values, as the English writes them: `+ - * /` on numbers, dates and spans of
time (`the start date + 3 days`), text joined with `+` (`"Hi " + the name`), and the comparisons filters and
conditions share (`is`, `is greater than`, `contains`, `is empty`...).

`result_type` tells the compiler what an operation gives (or that it can't be done, before anything runs);
`combine` does it when the line runs; `compare` is one comparison, for a filter's condition and an `if`.
"""

from __future__ import annotations

import typing
from collections.abc import Sized
from datetime import date, datetime, timedelta, timezone
from typing import Any

from book.dates import DateTextError, Span, parse_date_text

__all__ = ["combine", "compare", "result_type", "text_of", "OperationError"]

_NUMBERS = (int, float)


class OperationError(ValueError):
    """An operation on values of the wrong kinds; the message says which, in words."""


def _plain(annotation: Any) -> Any:
    """`int | None` -> int; anything with several types, or unknown, -> Any."""
    args = [a for a in (typing.get_args(annotation) or (annotation,)) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Annotated:
        return _plain(typing.get_args(annotation)[0])
    return args[0] if len(args) == 1 and isinstance(args[0], type) else Any


# What a type is to arithmetic, the first that fits (a bool is no number, a datetime is no mere date).
_KINDS = (("boolean", bool), ("number", _NUMBERS), ("datetime", datetime), ("date", date), ("text", str), ("span", Span))


def _kind(t: Any) -> str | None:
    if t is Any:
        return None
    if isinstance(t, type):
        return next((kind for kind, types in _KINDS if issubclass(t, types)), "other")
    return "other"


_WORDS = {"number": "a number", "datetime": "a date and time", "date": "a date", "text": "text",
          "span": "a span of time", "boolean": "true or false", "other": "a thing"}


def result_type(op: str, left: Any, right: Any) -> Any:
    """The type `left op right` gives, Any when only the run can tell; `OperationError` when it can't be done."""
    a, b = _kind(_plain(left)), _kind(_plain(right))
    if {a, b} == {"text", "span"} and op in "+-":
        return Any  # date text and a span ("March 1, 2022" + 1 day): a date, if the text is one
    if a is None or b is None:
        if op == "+" and "text" in (a, b):
            return str
        return Any
    found = _RESULTS.get((op, a, b))
    if found is None and op == "+" and "text" in (a, b):
        return str
    if found is None:
        raise OperationError(f"{_WORDS[a]} {_VERBS[op]} {_WORDS[b]} can't be worked out")
    return found


_VERBS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}
_RESULTS: dict[tuple[str, str, str], Any] = {
    ("+", "number", "number"): float, ("-", "number", "number"): float,
    ("*", "number", "number"): float, ("/", "number", "number"): float,
    ("+", "date", "span"): date, ("-", "date", "span"): date,
    ("+", "span", "date"): date,
    ("+", "datetime", "span"): datetime, ("-", "datetime", "span"): datetime,
    ("+", "span", "datetime"): datetime,
    ("-", "date", "date"): Span, ("-", "datetime", "datetime"): Span,
    ("+", "text", "text"): str,
    ("*", "span", "number"): Span, ("*", "number", "span"): Span,
}


def combine(op: str, left: Any, right: Any) -> Any:
    """`left op right` for values a line has; `OperationError` for values of the wrong kinds."""
    if op in "+-" and isinstance(left, str) and isinstance(right, Span):
        left = _date_text(left)
    elif op == "+" and isinstance(left, Span) and isinstance(right, str):
        right = _date_text(right)
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        return text_of(left) + text_of(right)
    a, b = _kind(type(left)), _kind(type(right))
    try:
        if a == b == "number":
            return _number(left, op, right)
        if op in "+-" and a in ("date", "datetime") and b == "span":
            return _shifted(left, right, 1 if op == "+" else -1)
        if op == "+" and a == "span" and b in ("date", "datetime"):
            return _shifted(right, left, 1)
        if op == "-" and a == b and a in ("date", "datetime"):
            return _between(left, right)
        if op == "*" and {a, b} == {"span", "number"}:
            span, times = (left, right) if a == "span" else (right, left)
            return Span(span.count * times, span.unit)
    except (OverflowError, ValueError) as err:
        raise OperationError(f"{text_of(left)} {_VERBS[op]} {text_of(right)} is out of range ({err})") from None
    raise OperationError(f"{_WORDS.get(a or 'other')} {_VERBS[op]} {_WORDS.get(b or 'other')} can't be worked out "
                         f"({text_of(left)} {op} {text_of(right)})")


def _date_text(text: str) -> date:
    """Text a span of time is added to: it must be a date ("March 1, 2022", 2022-03-01)."""
    try:
        found = parse_date_text(text)
        return found if found is not None else (datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
                                                if "T" in text or " " in text.strip() else date.fromisoformat(text.strip()))
    except (DateTextError, ValueError) as err:
        raise OperationError(f'a span of time can only be added to a date, and "{text}" is not one ({err})') from None


def _number(left: int | float, op: str, right: int | float) -> int | float:
    if op == "/":
        if right == 0:
            raise OperationError(f"{left} can't be divided by zero")
        result = left / right
        return int(result) if isinstance(left, int) and isinstance(right, int) and result == int(result) else result
    return {"+": left + right, "-": left - right, "*": left * right}[op]


def _shifted(value: date, span: Span, sign: int) -> date:
    delta = span.delta()
    if not isinstance(value, datetime) and span.unit in ("second", "minute", "hour"):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)  # a day's midnight, GMT
    return value + delta if sign > 0 else value - delta


def _between(left: date, right: date) -> Span:
    if isinstance(left, datetime):
        if (left.tzinfo is None) != (right.tzinfo is None):  # a naive time is GMT
            left, right = (x if x.tzinfo else x.replace(tzinfo=timezone.utc) for x in (left, right))  # type: ignore[union-attr]
        seconds = (left - right).total_seconds()
        if seconds % 86400 == 0:
            return Span(int(seconds // 86400), "day")
        return Span(seconds, "second")
    return Span((left - right).days, "day")


def text_of(value: Any) -> str:
    """A value as text in a sentence: text as it is, numbers without a needless `.0`, dates in ISO 8601."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(text_of(v) for v in value) if any(_has_fields(v) for v in value) else \
            ", ".join(text_of(v) for v in value)
    if _has_fields(value):  # a concept: its name, then each field that has a value, in English
        shown = [f"{words} {text_of(getattr(value, attr))}" for words, attr in value.english_fields().items()
                 if getattr(value, attr, None) not in (None, "", [])]
        return f"{value.concept_name or type(value).__name__}: " + ", ".join(shown)
    return str(value)


def _has_fields(value: Any) -> bool:
    return callable(getattr(value, "english_fields", None)) and not isinstance(value, type)


# -- comparisons -------------------------------------------------------------------------------------


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare datetimes with dates by day, and naive datetimes as UTC."""
    if isinstance(left, datetime) and isinstance(right, datetime):
        if left.tzinfo is None:
            left = left.replace(tzinfo=timezone.utc)
        if right.tzinfo is None:
            right = right.replace(tzinfo=timezone.utc)
        return left, right
    if isinstance(left, datetime) and isinstance(right, date):
        return left.astimezone(timezone.utc).date() if left.tzinfo else left.date(), right
    if isinstance(left, date) and not isinstance(left, datetime) and isinstance(right, datetime):
        return left, right.astimezone(timezone.utc).date() if right.tzinfo else right.date()
    if isinstance(left, Span) and isinstance(right, Span):
        return _seconds(left), _seconds(right)
    return left, right


def _seconds(span: Span) -> float:
    delta = span.delta()
    return delta.total_seconds() if isinstance(delta, timedelta) else (delta.years * 365.25 + delta.months * 30.44) * 86400


def is_empty(value: Any) -> bool:
    """Nothing, empty text or an empty list."""
    return value is None or (isinstance(value, (str, Sized)) and not isinstance(value, (bytes,)) and len(value) == 0)


def compare(actual: Any, op: str, value: Any) -> bool:
    """`actual op value`, as a filter's condition and an `if` compare: text without regard to case for
    contains / starts with / ends with, dates by day beside datetimes, nothing never more or less than anything."""
    if op == "ne":
        return not compare(actual, "eq", value)
    if op == "not_contains":
        return not compare(actual, "contains", value)
    if op == "one_of":
        return any(compare(actual, "eq", v) for v in value)
    if op == "between":
        return compare(actual, "ge", value[0]) and compare(actual, "le", value[1])
    if op == "empty":
        return is_empty(actual)
    if op == "not_empty":
        return not is_empty(actual)
    if actual is None or value is None:
        return op == "eq" and actual is None and value is None
    if op in ("contains", "starts_with", "ends_with"):
        if isinstance(actual, (list, tuple)) and op == "contains":
            return any(compare(item, "eq", value) for item in actual)
        text, part = text_of(actual).lower(), text_of(value).lower()
        return {"contains": part in text, "starts_with": text.startswith(part), "ends_with": text.endswith(part)}[op]
    left, right = _comparable(actual, value)
    try:
        if op == "eq":
            return bool(left == right)
        if op == "gt":
            return bool(left > right)
        if op == "lt":
            return bool(left < right)
        if op == "ge":
            return bool(left >= right)
        if op == "le":
            return bool(left <= right)
    except TypeError:
        return False
    raise ValueError(f"unknown comparison {op!r}")

"""Values and errors as JSON, for what crosses between a workflow and its activities (and a client).

Concepts travel as their concept name and fields (`{"$": "concept", ...}`) and are rebuilt from the book's
own concept classes, never from a class path in the payload; dates, sets, tuples and other models by tags.
A `BookError` raised by an activity crosses as its class name, message and fields, and is raised again as
the same class (or the nearest one in `book.errors`) where the workflow runs the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from book import errors
from book.errors import BookError
from book.filters import AllOf, AnyOf, Condition, FilterExpression, Node, Not
from book.watching.cursor import Cursor

__all__ = ["Codec", "error_details", "error_from"]


class Codec:
    """Encodes values to JSON and back; `types` (name -> class) are the concepts and models it rebuilds."""

    def __init__(self, types: Mapping[str, type]) -> None:
        self.types = dict(types)
        self._names = {cls: name for name, cls in self.types.items()}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return str(value)
        if isinstance(value, datetime):
            return {"$": "datetime", "v": value.isoformat()}
        if isinstance(value, date):
            return {"$": "date", "v": value.isoformat()}
        if isinstance(value, timedelta):
            return {"$": "timedelta", "v": value.total_seconds()}
        if isinstance(value, Decimal):
            return {"$": "decimal", "v": str(value)}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple):
            return {"$": "tuple", "v": [self.encode(v) for v in value]}
        if isinstance(value, set | frozenset):
            return {"$": "set", "v": sorted((self.encode(v) for v in value), key=repr)}
        if isinstance(value, dict):
            return {"$": "dict", "v": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        name = self._names.get(type(value))
        if name is not None:
            return {"$": "model", "type": name, "v": value.model_dump(mode="json")}
        raise TypeError(f"a {type(value).__name__} can't be handed between a workflow and its activities; the "
                        "book's concepts, text, numbers, dates, lists and dicts can")

    def decode(self, data: Any) -> Any:
        if isinstance(data, list):
            return [self.decode(v) for v in data]
        if not isinstance(data, dict):
            return data
        tag, value = data.get("$"), data.get("v")
        if tag == "datetime":
            return datetime.fromisoformat(value)
        if tag == "date":
            return date.fromisoformat(value)
        if tag == "timedelta":
            return timedelta(seconds=value)
        if tag == "decimal":
            return Decimal(value)
        if tag == "tuple":
            return tuple(self.decode(v) for v in value)
        if tag == "set":
            return frozenset(self.decode(v) for v in value)
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in value}
        if tag == "model":
            cls = self.types.get(data.get("type", ""))
            if cls is None:
                raise TypeError(f"the book has no concept {data.get('type')!r}: the worker runs another version of it")
            return cls.model_validate(value)
        raise TypeError(f"an encoded value with the tag {tag!r} is not one this version of the book writes")

    # -- a watch's cursor

    def encode_cursor(self, cursor: Cursor | None) -> Any:
        if cursor is None:
            return None
        return self.encode({"high_water": cursor.high_water, "sids": cursor.sids, "recent": dict(cursor.recent),
                            "floor": cursor.floor})

    def decode_cursor(self, data: Any) -> Cursor | None:
        if data is None:
            return None
        fields = self.decode(data)
        return Cursor(fields["high_water"], frozenset(fields["sids"]), fields["recent"], fields["floor"])

    # -- filters

    def encode_filter(self, expression: FilterExpression | None) -> Any:
        return None if expression is None else self._node(expression.root)

    def _node(self, node: Node) -> Any:
        if isinstance(node, Condition):
            return {"field": node.field, "op": node.op, "value": self.encode(node.value)}
        if isinstance(node, Not):
            return {"not": self._node(node.item)}
        kind = "all" if isinstance(node, AllOf) else "any"
        return {kind: [self._node(n) for n in node.items]}

    def decode_filter(self, data: Any) -> FilterExpression | None:
        return None if data is None else FilterExpression(self._tree(data))

    def _tree(self, data: dict[str, Any]) -> Node:
        if "field" in data:
            return Condition(data["field"], data["op"], self.decode(data["value"]))
        if "not" in data:
            return Not(self._tree(data["not"]))
        kind = "all" if "all" in data else "any"
        items = tuple(self._tree(n) for n in data[kind])
        return AllOf(items) if kind == "all" else AnyOf(items)


_FIELDS = ("status", "code", "more_info", "where")


def error_details(err: BookError) -> dict[str, Any]:
    """A `BookError` as JSON: its class and the `book.errors` classes it is one of, its message and fields."""
    bases = [cls.__name__ for cls in type(err).__mro__ if cls.__module__ == errors.__name__]
    fields = {name: getattr(err, name) for name in _FIELDS if getattr(err, name, None) is not None}
    return {"class": type(err).__name__, "bases": bases, "message": str(err), "fields": fields}


def error_from(details: Mapping[str, Any]) -> BookError:
    """The `BookError` that `error_details` wrote, as the nearest class of `book.errors`, with its message as it was."""
    cls: type[BookError] = BookError
    for name in details.get("bases", ()):
        found = getattr(errors, name, None)
        if isinstance(found, type) and issubclass(found, BookError) and not issubclass(found, errors.LanguageError):
            cls = found
            break
    err = cls.__new__(cls)
    Exception.__init__(err, details.get("message", ""))
    for name, value in details.get("fields", {}).items():
        setattr(err, name, value)
    return err


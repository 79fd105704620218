"""What `watch` can follow: a `Watchable` (a read procedure of the registry, the fact its items are bound as, their
date and SID fields, the filters a user may give), and `watchable_for`, how the compiler finds one for a read.

Apart from `book.watching.watch` (which polls, and imports pydantic for its report), so that compiling a
`watch for new ...` line needs neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from book.errors import InputError
from book.naming import normal, noun_key, singular
from book.registry import Procedure, Registry

__all__ = ["Watchable", "watchable_for"]


@dataclass(frozen=True)
class Watchable:
    """Something `watch` can follow: its read procedure, the fact it binds, its date and SID fields, its filters."""

    name: str
    """What the user types: `messages`."""
    verb: str
    noun: str
    """The read procedure's verb and noun, as the registry knows them: `read`, `SMS messages`."""
    fact: str
    """The fact an automation sees each item as: `message` (`the message's body`)."""
    date_field: str = "date_created"
    """The item's timestamp, which the cursor keeps."""
    order_field: str | None = None
    """The field the list is sorted by, newest first, when it is not `date_field` (never earlier than it)."""
    sid_field: str = "sid"
    filters: Mapping[str, str] = field(default_factory=dict)
    """Option name -> the concept field it filters on (`from` -> `sender_number`)."""
    checks: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    """Option name -> its value's check: the cleaned value, or ValueError saying what is wrong."""

    def checked(self, given: Mapping[str, str]) -> dict[str, str]:
        """The filter values with each check applied; `InputError` naming the option, before anything is sent."""
        out = dict(given)
        for option, check in self.checks.items():
            if out.get(option) is None:
                continue
            try:
                out[option] = check(out[option])
            except ValueError as err:
                raise InputError(f"--{option}: {err}") from None
        return out

    def procedure(self, registry: Registry) -> Procedure | None:
        """The read procedure, if the book has it and it can be called with no inputs."""
        procedure = registry.find(self.verb, self.noun)
        if procedure is None or not procedure.lists_on_its_own:
            return None
        return procedure


def watchable_for(procedure: Procedure, registry: Registry) -> Watchable | None:
    """How to watch what this read procedure lists: as its book declared (`registry.watchables`), or from
    the concept's `date_created` and `sid` fields (a list read newest first); None when it can't be."""
    verb, noun = procedure.signature.verb, procedure.signature.noun
    for watchable in registry.watchables:
        if watchable.verb == verb and noun_key(watchable.noun) == noun_key(noun):
            return watchable
    fields = getattr(procedure.output.type, "model_fields", {})
    date = fields.get("date_created")
    if date is None or "sid" not in fields or not _holds_datetime(date.annotation):
        return None
    return Watchable(noun_key(noun), verb, noun, singular(normal(noun).split()[-1]))


def _holds_datetime(annotation: Any) -> bool:
    return annotation is datetime or datetime in getattr(annotation, "__args__", ())

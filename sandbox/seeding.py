"""Checks shared by the functions that seed rows for tests and demos (`insert_messages`, `insert_calls`...).

Each raises ValueError saying what was wrong with the seeded row.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sandbox.clock import datetime_to_us
from sandbox.ids import is_sid


def seed_us(value: datetime | str | None) -> int | None:
    """A seeded date (an aware datetime, or ISO 8601 text; naive means GMT) in microseconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime_to_us(value)


def check_keys(row: Mapping[str, Any], keys: Collection[str], what: str) -> None:
    """Refuse a row with keys the seeding function does not know (`what` names the row: "call")."""
    unknown = set(row) - set(keys)
    if unknown:
        raise ValueError(f"unknown {what} fields {sorted(unknown)}; known: {sorted(keys)}")


def check_sid(value: str, what: str, *prefixes: str) -> str:
    """`value`, if it is a SID with one of these prefixes; `what` names it with its article ("a call")."""
    if not is_sid(value, *prefixes):
        raise ValueError(f"{value!r} is not {what} SID ({' or '.join(prefixes)} and 32 hex digits)")
    return value


def check_choice(name: str, value: Any, choices: Collection[str]) -> None:
    """Refuse a value that is not one of `choices` (a set is listed sorted, a sequence in its order)."""
    if value not in choices:
        shown = sorted(choices) if isinstance(choices, (set, frozenset)) else list(choices)
        raise ValueError(f"{name} {value!r} is not one of {shown}")

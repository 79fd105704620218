"""Twilio-style identifiers: a two-letter prefix and 32 lowercase hex characters."""

from __future__ import annotations

import re
import secrets

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def new_sid(prefix: str) -> str:
    """A fresh SID such as `SM0f3c...` (34 characters) for the given two-letter prefix."""
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"a SID prefix is two capital letters, not {prefix!r}")
    return prefix + secrets.token_hex(16)


def new_secret() -> str:
    """A fresh 32-hex-character secret, the shape of a Twilio auth token."""
    return secrets.token_hex(16)


def is_sid(value: str, *prefixes: str) -> bool:
    """Whether `value` is a well-formed SID, optionally with one of the given prefixes."""
    if not SID_RE.match(value):
        return False
    return not prefixes or value[:2] in prefixes

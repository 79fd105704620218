"""Where a watch stands, kept across restarts: the newest timestamp handed on and the SIDs handed on at it.

Twilio's timestamps have whole-second resolution, so several items can share one. A cursor that kept
only a timestamp would either repeat the items at it (`>=`) or miss the ones that arrive later in
the same second (`>`). Keeping the SIDs handed on at the high-water timestamp makes "is this new?"
exact: newer than the high water, or at it and not yet handed on.

The cursor lives in `<home>/triggers/<name>.json`, written atomically (a temporary file in the same
folder, flushed to disk, then renamed over the old one), so a crash leaves the old cursor or the new
one, never half of either.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from book.errors import BookError

FORMAT_VERSION = 1


def utc(when: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC)."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


@dataclass(frozen=True)
class Cursor:
    """The newest timestamp handed on (None: nothing yet, so everything is new) and the SIDs handed on at it."""

    high_water: datetime | None = None
    sids: frozenset[str] = field(default_factory=frozenset)

    def is_new(self, when: datetime, sid: str) -> bool:
        """Whether an item stamped `when` with this SID has not been handed on yet."""
        if self.high_water is None:
            return True
        when = utc(when)
        return when > self.high_water or (when == self.high_water and sid not in self.sids)

    def after(self, when: datetime, sid: str) -> Cursor:
        """The cursor once this item has been handed on."""
        when = utc(when)
        if self.high_water is None or when > self.high_water:
            return Cursor(when, frozenset({sid}))
        if when == self.high_water:
            return Cursor(self.high_water, self.sids | {sid})
        return self


class CursorFile:
    """One watch's cursor on disk, with what it watches (`scope`), so a cursor is never reused for another watch."""

    def __init__(self, path: Path, scope: Mapping[str, Any]) -> None:
        self.path = path
        self.scope = dict(scope)

    def load(self) -> Cursor | None:
        """The saved cursor, or None when this watch has never run."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise BookError(f"the watch cursor {self.path} can't be read ({err}); delete it to start again from now") from None
        if data.get("scope") != self.scope:
            raise BookError(
                f"the watch cursor {self.path} belongs to another watch ({_describe(data.get('scope'))}, not "
                f"{_describe(self.scope)}); give this watch another --name, or --reset to start it again from now"
            )
        high_water = data.get("high_water")
        return Cursor(utc(datetime.fromisoformat(high_water)) if high_water else None, frozenset(data.get("sids", ())))

    def save(self, cursor: Cursor) -> None:
        """Write the cursor atomically: the old one stays whole until the new one is on disk."""
        data = {
            "version": FORMAT_VERSION,
            "scope": self.scope,
            "high_water": cursor.high_water.isoformat() if cursor.high_water is not None else None,
            "sids": sorted(cursor.sids),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_folder(self.path.parent)

    def remove(self) -> None:
        """Forget the cursor: the next run starts again from now."""
        self.path.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible everywhere (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _describe(scope: Any) -> str:
    if not isinstance(scope, dict):
        return "an unknown watch"
    filters = ", ".join(f"{k}={v}" for k, v in sorted((scope.get("filters") or {}).items()))
    return f"{scope.get('watch')} of {scope.get('account_sid')}" + (f" with {filters}" if filters else "")

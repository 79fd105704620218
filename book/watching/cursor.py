"""Where a watch stands, kept across restarts: the newest timestamp handed on, and what was handed on
shortly before it.

A service's timestamps often have whole-second resolution, so several items can share one. A cursor that kept
only a timestamp would either repeat the items at it (`>=`) or miss the ones that arrive later in
the same second (`>`). And a list is not a log: an item can turn up in it after newer ones were
handed on (a list may be sorted by another date than the one kept, like the time a message was sent; a
write can become visible late). So a cursor keeps, besides the high-water timestamp, the SIDs handed on in a look-back window
before it (a few minutes, `LOOK_BACK`): an item is new when it is newer than the high water, or
within the window and not handed on yet. SIDs that fall out of the window as the high water moves
are forgotten, and at most `MAX_RECENT` are kept (past that, the window shrinks), so a cursor stays
small however busy the list is.

A cursor also says which item is in hand (`in_hand`): it is saved before an item is handed on and
cleared once it has been, so the next run knows an item whose hand-off a dying process cut short, and
reports it instead of handing it on again (its steps may have run: a reply sent twice is worse than one
named for a person to check).

The cursor lives in `<home>/triggers/<name>.json`, written atomically (a temporary file in the same
folder, flushed to disk, then renamed over the old one), so a crash leaves the old cursor or the new
one, never half of either. Version 1 files (a high water and the SIDs at it) and version 2 files (no
item in hand) are still read: a version 1 file's window starts at its high water.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from book.errors import BookError
from book.locks import exclusive

FORMAT_VERSION = 3
"""1: `high_water` and `sids` (handed on at it). 2 adds `look_back_from` and `recent` (SID -> timestamp).
3 adds `in_hand` (the SID and timestamp of the item being handed on, or null)."""
LOOK_BACK = timedelta(minutes=5)
"""How long before the high water an item that turns up late is still handed on."""
MAX_RECENT = 5000
"""At most this many SIDs are remembered before the high water; past that the oldest go, and the window with them."""
_TICK = timedelta(microseconds=1)


def utc(when: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC)."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


@dataclass(frozen=True)
class Cursor:
    """The newest timestamp handed on (None: nothing yet, so everything is new), the SIDs handed on at it,
    and the SIDs handed on before it (with their timestamps) from `look_back_from` on."""

    high_water: datetime | None = None
    sids: frozenset[str] = field(default_factory=frozenset)
    recent: Mapping[str, datetime] = field(default_factory=dict)
    """SID -> timestamp of the items handed on before the high water, from `look_back_from` on."""
    floor: datetime | None = None
    """Where the look-back window starts (None: at the high water, as for a cursor just placed)."""
    in_hand: tuple[str, datetime] | None = None
    """The SID and timestamp of the item being handed on: set before its hand-off, cleared after it."""

    def holding(self, when: datetime, sid: str) -> Cursor:
        """The cursor while this item is handed on: the same, with the item in hand."""
        return replace(self, in_hand=(sid, utc(when)))

    @property
    def look_back_from(self) -> datetime | None:
        """The oldest timestamp an item can have and still be new (None: any)."""
        return self.floor if self.floor is not None else self.high_water

    def is_new(self, when: datetime, sid: str) -> bool:
        """Whether an item stamped `when` with this SID has not been handed on yet."""
        if self.high_water is None:
            return True
        when = utc(when)
        if when > self.high_water:
            return True
        if when == self.high_water:
            return sid not in self.sids
        return when >= self.look_back_from and sid not in self.recent  # type: ignore[operator]

    def after(self, when: datetime, sid: str, window: timedelta = LOOK_BACK) -> Cursor:
        """The cursor once this item has been handed on (none is in hand): the window moves with the high water."""
        when = utc(when)
        high_water = when if self.high_water is None or when > self.high_water else self.high_water
        floor = high_water - window
        if self.look_back_from is not None:
            floor = max(floor, self.look_back_from)
        if when < floor:
            return replace(self, in_hand=None)  # older than the window: never new, nothing to remember
        handed = dict(self.recent)
        if self.high_water is not None:
            handed.update(dict.fromkeys(self.sids, self.high_water))
        handed[sid] = when
        recent = {s: t for s, t in handed.items() if floor <= t < high_water}
        if len(recent) > MAX_RECENT:  # forget the oldest timestamps whole; the window starts after them
            count = 0
            for t, group in sorted(Counter(recent.values()).items(), reverse=True):
                count += group
                if count > MAX_RECENT:
                    floor = t + _TICK
                    break
            recent = {s: t for s, t in recent.items() if t >= floor}
        sids = frozenset(s for s, t in handed.items() if t == high_water)
        return Cursor(high_water, sids, recent, None if floor == high_water else floor)


class CursorFile:
    """One watch's cursor on disk, with what it watches (`scope`), so a cursor is never reused for another watch."""

    def __init__(self, path: Path, scope: Mapping[str, Any]) -> None:
        self.path = path
        self.scope = dict(scope)

    def load(self) -> Cursor | None:
        """The saved cursor, or None when this watch has never run; a damaged file is a BookError."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"it holds a JSON {_json_kind(data)}, not a cursor")
            if not isinstance(data.get("scope"), dict):
                raise ValueError("it does not say which watch it belongs to ('scope')")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise self._damaged(err) from None
        if data.get("scope") != self.scope:
            raise BookError(
                f"the watch cursor {self.path} belongs to another watch ({_describe(data.get('scope'))}, not "
                f"{_describe(self.scope)}); give this watch another --name, or --reset to start it again from now"
            )
        try:
            return _parse(data)
        except ValueError as err:
            raise self._damaged(err) from None

    def _damaged(self, err: Exception) -> BookError:
        return BookError(f"the watch cursor {self.path} can't be read ({err}); delete it to start again from now")

    def save(self, cursor: Cursor) -> None:
        """Write the cursor atomically: the old one stays whole until the new one is on disk."""
        data = {
            "version": FORMAT_VERSION,
            "scope": self.scope,
            "high_water": _iso(cursor.high_water),
            "sids": sorted(cursor.sids),
            "look_back_from": _iso(cursor.floor),
            "recent": {sid: when.isoformat() for sid, when in sorted(cursor.recent.items(), key=lambda i: (i[1], i[0]))},
            "in_hand": None if cursor.in_hand is None else {"sid": cursor.in_hand[0], "at": cursor.in_hand[1].isoformat()},
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError as err:
            raise BookError(f"the watch cursor {self.path} can't be written ({err}); check that its folder "
                            "is writable and the disk is not full") from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as err:
            Path(temporary).unlink(missing_ok=True)
            raise BookError(f"the watch cursor {self.path} can't be written ({err}); check that its folder "
                            "is writable and the disk is not full") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_folder(self.path.parent)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this watch's lock while it runs (`<name>.json.lock`, released when the process ends).

        Two processes following one cursor would both hand on every new item (two replies to each
        message), so a second one is refused, naming the cursor.
        """

        def busy() -> BookError:
            return BookError(f"this watch is already running in another process (its cursor is {self.path}); "
                             "stop that one first, or let it finish: two would hand on every new item twice")

        with exclusive(self.path.with_name(self.path.name + ".lock"), busy=busy):
            yield

    def remove(self) -> None:
        """Forget the cursor: the next run starts again from now."""
        self.path.unlink(missing_ok=True)


def _parse(data: dict[str, Any]) -> Cursor:
    """The cursor a file's JSON object holds (format 1 or 2); ValueError saying what is wrong."""
    version = data.get("version", 1)
    if version not in (1, 2, 3) or isinstance(version, bool):
        raise ValueError(f"format version {version!r} is not one this book reads (1 to {FORMAT_VERSION})")
    high_water = _datetime(data.get("high_water"), "high_water")
    sids = data.get("sids", [])
    if not isinstance(sids, list) or not all(isinstance(s, str) for s in sids):
        raise ValueError("'sids' is not a list of SIDs")
    if high_water is None and sids:
        raise ValueError("it has 'sids' but no 'high_water'")
    if version == 1:
        return Cursor(high_water, frozenset(sids))
    floor = _datetime(data.get("look_back_from"), "look_back_from")
    recent = data.get("recent", {})
    if not isinstance(recent, dict) or not all(isinstance(s, str) for s in recent):
        raise ValueError("'recent' is not an object of SIDs and times")
    recent = {sid: _datetime(when, f"recent[{sid!r}]") for sid, when in recent.items()}
    if any(when is None for when in recent.values()):
        raise ValueError("'recent' has a SID without a time")
    if high_water is None and (floor is not None or recent):
        raise ValueError("it has 'recent' or 'look_back_from' but no 'high_water'")
    if high_water is not None and (floor is not None and floor > high_water
                                   or any(not (floor or high_water) <= t < high_water for t in recent.values())):
        raise ValueError("its times are out of order ('recent' must lie between 'look_back_from' and 'high_water')")
    held = data.get("in_hand")
    in_hand = None
    if held is not None:
        if not isinstance(held, dict) or not isinstance(held.get("sid"), str):
            raise ValueError("'in_hand' is not an object with the SID of the item being handed on")
        in_hand = (held["sid"], _datetime(held.get("at"), "in_hand.at"))
        if in_hand[1] is None:
            raise ValueError("'in_hand' has no time ('at')")
    return Cursor(high_water, frozenset(sids), recent, floor, in_hand)  # type: ignore[arg-type]


def _datetime(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name!r} is not a date and time")
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(f"{name!r} is not a date and time: {value!r}") from None


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _json_kind(data: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "true or false"}.get(type(data), "null")


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
    given = scope.get("filters")
    filters = ", ".join(f"{k}={v}" for k, v in sorted(given.items())) if isinstance(given, dict) else ""
    return f"{scope.get('watch')} of {scope.get('account_sid')}" + (f" with {filters}" if filters else "")

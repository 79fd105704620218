"""The bodies of list pages already served, served again while nothing they show has changed.

A page shows the stored rows as of the clock: a message's status (and its date sent, date updated and
price) moves with time. So a page is kept with the store's `version()` when it was made (any write, by
this process or another on the same file, moves it) and the span of the clock it holds for: from when it
was made to the next moment one of its rows changes by itself (`until_us`, None for never). A request
outside that span, or after any write, makes the page anew.

Polling clients ask for the same page again and again (a watch's idle poll, a dashboard): they get the
same bytes, at the cost of a dictionary look-up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_PAGES = 32
"""Pages kept (the least recently served go first): a page of 1,000 messages is about 700 kB."""


@dataclass(frozen=True)
class _Page:
    version: Any
    made_us: int
    until_us: int | None
    body: bytes


class PageCache:
    """Page bodies by request (path and query), each valid for its store version and span of the clock."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: OrderedDict[Any, _Page] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, version: Any, now_us: int) -> bytes | None:
        """The body served for `key`, if the store has not changed since and the clock is inside its span."""
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if page.version != version or now_us < page.made_us or (page.until_us is not None
                                                                     and now_us >= page.until_us):
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return page.body

    def put(self, key: Any, version: Any, now_us: int, until_us: int | None, body: bytes) -> None:
        """Keep the body made for `key` at `now_us` from the store at `version`, valid until `until_us`."""
        with self._lock:
            self._pages[key] = _Page(version, now_us, until_us, body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)

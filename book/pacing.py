"""Pacing of sends: at most `rate` a second from each sender (a service may send from one number at a fixed
rate and queue the rest, as a phone network's long codes go at 1 a second), shared by the items of a loop run
side by side.

    pacer = Pacer(rate=1.0)
    if not pacer.wait("+18004445555", halt):   # False: `halt` was set while it waited (nothing is sent)
        ...

Each call takes the sender's next free slot (slots are 1/rate seconds apart) and sleeps until it, so
threads sending from one number go out evenly, first come first served, and numbers don't wait for each
other. The rate comes from the connection (`connect --rate`, `connections rate NAME N`, `<PREFIX>_RATE`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Pacer", "parse_rate", "MAX_RATE"]

MAX_RATE = 10_000.0
"""Sends a second from one sender beyond which pacing means nothing (the fastest short codes send hundreds)."""


def parse_rate(text: str | float) -> float:
    """A rate as a person gives it: a positive number of sends a second, or `none` / `off` / 0 (no pacing: 0).

    Raises ValueError, saying what a rate looks like."""
    if isinstance(text, str):
        word = text.strip().lower()
        if word in ("none", "off", "unlimited", "0"):
            return 0.0
        try:
            rate = float(word)
        except ValueError:
            raise ValueError(f"{text!r} is not a rate; give sends a second from each sender, like 1 (a long code), "
                             "3 (toll-free) or 100 (a short code), or none for no pacing") from None
    else:
        rate = float(text)
        if rate == 0:
            return 0.0
    if not 0 < rate <= MAX_RATE or rate != rate:
        raise ValueError(f"{text!r} is not a rate; give a number of sends a second above 0 and at most "
                         f"{MAX_RATE:,.0f}, or none for no pacing")
    return rate


class Pacer:
    """At most `rate` sends a second for each key (a sender), across threads."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = 1.0 / rate
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, *halts: threading.Event) -> bool:
        """Wait for `key`'s next slot; False if one of `halts` was set before it came (then nothing is to be sent)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + self.gap
        while not any(halt.is_set() for halt in halts):
            delay = slot - self._clock()
            if delay <= 0:
                return True
            halts[0].wait(min(delay, 0.05))  # the others are looked at every 50 ms
        return False

"""The items of a loop run side by side (`process each message, 8 at a time, as follows`).

    outcomes = side_by_side(len(items), 8, run, may_start=lambda: not stopping.is_set(), finished=report)

`run(i)` runs item `i` in one of at most `n` threads; items start in input order, each while
`may_start()` holds, so a failure or a stop starts no new item while those already running finish. What a
person sees comes in input order: `finished(outcome)` is called in the calling thread for item `i` as soon
as it and every item before it are done. A Ctrl-C (KeyboardInterrupt) in the calling thread starts no new
item either; the running ones finish (a send in flight is never cut off midway) and it is raised again.
`beside()` tells code an item calls (an HTTP client) that it runs in such a thread, beside others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_AT_A_TIME", "Outcome", "beside", "side_by_side"]

MAX_AT_A_TIME = 64
"""The most items of a loop that run side by side (`64 at a time`): each is a thread, and a connection."""

_threads = threading.local()


def beside() -> bool:
    """Whether the calling thread runs an item of a loop side by side with others (`side_by_side`)."""
    return getattr(_threads, "beside", False)


def _mark() -> None:
    _threads.beside = True


@dataclass
class Outcome:
    """What became of one item: started or not, and its value or its error."""

    index: int
    started: bool = False
    done: bool = False
    value: Any = None
    error: BaseException | None = None


def side_by_side(count: int, n: int, run: Callable[[int], Any], *, may_start: Callable[[], bool],
                 finished: Callable[[Outcome], None], interrupted: Callable[[], None] = lambda: None) -> list[Outcome]:
    """Run `run(i)` for each `i` below `count`, at most `n` at once (see the module's doc); every outcome.
    `interrupted()` is called at a Ctrl-C, so the running items can stop before what they have not begun.

    Each of the `n` threads takes the next item itself as soon as its last one is done (the calling thread is
    not in the way of a new start); the calling thread is woken only when the item it reports next is done."""
    outcomes = [Outcome(i) for i in range(count)]
    turn = threading.Condition()
    state = _State()

    def work() -> None:
        _mark()
        try:
            while True:
                with turn:
                    if state.closed or state.started >= count or not may_start():
                        state.closed = True
                        return
                    outcome = outcomes[state.started]
                    outcome.started = True
                    state.started += 1
                try:
                    outcome.value = run(outcome.index)
                except BaseException as err:  # reported by the caller, in input order
                    outcome.error = err
                with turn:
                    outcome.done = True
                    if outcome.index == state.reported:
                        turn.notify()
        finally:
            with turn:
                state.working -= 1
                turn.notify()

    threads = [threading.Thread(target=work, name=f"book-each_{k}") for k in range(max(1, min(n, count)))]
    caught: BaseException | None = None
    try:
        for thread in threads:
            state.working += 1
            thread.start()
        while True:
            try:
                with turn:
                    while state.working and not (state.reported < count and outcomes[state.reported].done):
                        turn.wait()
                    ready = []
                    while state.reported < count and outcomes[state.reported].done:
                        ready.append(outcomes[state.reported])
                        state.reported += 1
                    over = not state.working and not ready
            except KeyboardInterrupt as err:  # no new item; wait for the running ones
                caught = err
                with turn:
                    state.closed = True
                interrupted()
                continue
            for outcome in ready:
                finished(outcome)
            if over:
                break
    finally:
        with turn:
            state.closed = True
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    if caught is not None:
        raise caught
    return outcomes


@dataclass
class _State:
    """What the threads of one `side_by_side` share, under its condition."""

    started: int = 0  # items taken so far, in input order
    reported: int = 0  # the first item not yet given to `finished`
    working: int = 0  # threads still taking items
    closed: bool = False  # no new item starts (may_start() failed, a Ctrl-C)

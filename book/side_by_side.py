"""The items of a loop run side by side (`process each message, 8 at a time, as follows`).

    outcomes = side_by_side(len(items), 8, run, may_start=lambda: not stopping.is_set(), finished=report)

`run(i)` runs item `i` in a thread of a pool of at most `n`; items start in input order, each while
`may_start()` holds, so a failure or a stop starts no new item while those already running finish. What a
person sees comes in input order: `finished(outcome)` is called in the calling thread for item `i` as soon
as it and every item before it are done. A Ctrl-C (KeyboardInterrupt) in the calling thread starts no new
item either; the running ones finish (a send in flight is never cut off midway) and it is raised again.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_AT_A_TIME", "Outcome", "side_by_side"]

MAX_AT_A_TIME = 64
"""The most items of a loop that run side by side (`64 at a time`): each is a thread, and a connection."""


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
    `interrupted()` is called at a Ctrl-C, so the running items can stop before what they have not begun."""
    outcomes = [Outcome(i) for i in range(count)]
    caught: BaseException | None = None
    reported = started = 0
    with ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix="book-each") as pool:
        running: dict[Future[Any], Outcome] = {}
        while True:
            while caught is None and len(running) < n and started < count and may_start():
                outcome = outcomes[started]
                outcome.started = True
                running[pool.submit(run, started)] = outcome
                started += 1
            if not running:
                break
            try:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt as err:  # no new item; wait for the running ones
                caught = err
                interrupted()
                continue
            for future in done:
                outcome = running.pop(future)
                try:
                    outcome.value = future.result()
                except BaseException as err:  # reported by the caller, in input order
                    outcome.error = err
                outcome.done = True
            while reported < started and outcomes[reported].done:
                finished(outcomes[reported])
                reported += 1
    if caught is not None:
        raise caught
    return outcomes

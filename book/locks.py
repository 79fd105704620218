"""The one file lock behind the book's exactly-once state, on every operating system: filelock's.

    with exclusive(path, busy=lambda: BookError("already running")):   # a watch's cursor, while it runs
        ...
    held = hold(path)          # an owner's lock for its life (a listener's queue); `held.release()`
    in_use(path)               # whether some process (this one included) holds the lock at `path`

The operating system releases a lock when its process ends, however it ends, so a lock file left by a
process that died is free at once. A lock is never waited for: a second holder is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = ["exclusive", "hold", "in_use"]


def _lock(path: Path) -> FileLock:
    from filelock import FileLock  # when a lock is taken: a command that takes none does not load it

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Not thread-local: an owner's lock is held by the process, whichever thread took it.
    return FileLock(str(path), timeout=0, thread_local=False, mode=0o600)


def hold(path: Path) -> FileLock | None:
    """The lock at `path`, held from now until `release()` (or the process ends); None if another holds it."""
    from filelock import Timeout

    lock = _lock(path)
    try:
        lock.acquire()
    except Timeout:
        return None
    return lock


@contextmanager
def exclusive(path: Path, *, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold the lock at `path` for the block; `busy()` is raised, before the block runs, if another holds it."""
    lock = hold(path)
    if lock is None:
        raise busy()
    try:
        yield
    finally:
        lock.release()


def in_use(path: Path) -> bool:
    """Whether a process holds the lock at `path` (False when there is no such file)."""
    if not os.path.exists(path):
        return False
    lock = hold(path)
    if lock is None:
        return True
    lock.release()
    return False

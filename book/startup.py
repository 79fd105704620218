"""The garbage collector around a command's start and its end, which otherwise cost a one-shot command a fifth of its CPU.

A start makes some 50,000 objects that live to the end (modules, classes, the parser's tables, the concept
models), and Python's collector traverses them again and again while they are made: about 130 collections,
23 ms of a `check`'s 250. At the end, the interpreter's shutdown collects them once more, after it has
emptied every module (about 40 ms). So:

    with loading():          # the runtime and the book imported, the automation compiled
        ...
    ...                      # the command runs, collected as usual
    ending()                 # before the interpreter shuts down

`loading` collects nothing while it lasts, then moves all it made into the collector's permanent generation
(`gc.freeze`: never traversed again; objects are still freed when nothing refers to them) and collects as
before. `ending` collects what the command left in cycles (their finalizers run, as at any shutdown), then
freezes the rest: what the shutdown makes garbage in emptying the modules (classes, functions and their
modules refer to each other) is left to the end of the process, as `os._exit` leaves everything.

A command that goes on serving (a listener) meets those passes under load instead: its collector's full passes,
which come every few thousand objects kept a while (requests in flight, their futures), traverse everything
it loaded, and more once a run has imported the SDK: at 32 connections they were the slowest hundredth of a
listener's answers (p99 26 ms, 13 ms without them). So it calls

    settle()                 # once it has started, and after each automation run

which, when modules were imported since the last time (a length compare, otherwise), collects once and
freezes what is alive: the collector's passes no longer traverse what was loaded. What is frozen is still
freed when nothing refers to it; a cycle among it is freed only at the process's end, and settling happens a
handful of times (each time new modules came), so that is bounded.

All three apply only in a process that ends with the command: the command line's (`book.cli.main` with no
arguments given, that is from `sys.argv`, calls `ending`'s switch `whole_process`); where `main` is a function
called by another program (a test), the collector is left as it is.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_WHOLE_PROCESS: list[bool] = []
_SETTLED_WITH: list[int] = [0]
"""How many modules were loaded when the process last settled."""


def whole_process() -> None:
    """This process ends with the command: `loading` and `ending` apply."""
    _WHOLE_PROCESS[:] = [True]


@contextmanager
def loading() -> Iterator[None]:
    """No collection while the block runs; then what it made is frozen (see the module), and collection goes on."""
    if not _WHOLE_PROCESS:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def ending() -> None:
    """What the command left in cycles collected, the rest frozen for the shutdown (see the module)."""
    if not _WHOLE_PROCESS:
        return
    gc.collect()
    gc.freeze()


def settle() -> None:
    """In a command that goes on serving: if modules were imported since the last time, what is alive is frozen,
    after one collection (see the module); else nothing."""
    if not _WHOLE_PROCESS or len(sys.modules) == _SETTLED_WITH[0]:
        return
    _SETTLED_WITH[0] = len(sys.modules)
    gc.collect()
    gc.freeze()

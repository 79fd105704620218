"""Compile an automation that starts with facts already bound (`the event`, `the message`).

A trigger knows before anything runs which facts it will bind and of which concept, so it compiles
with them in scope (`Automation.compile(..., facts=...)`): a field the concept lacks fails at start,
with the usual line, column and hint. The plan is then run with `Automation.run(session, facts={...})`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from book.errors import BookError
from book.interpreter import Session
from book.registry import Registry
from book.runtime import Automation


def compile_with_facts(
    text: str, registry: Registry, facts: Mapping[str, Any], filename: str | None = None
) -> Automation:
    """An automation compiled with `facts` (fact name -> concept class or type) bound before its first line.

    Raises `LanguageError` (every problem, with line and column) like `Automation.compile`; a
    `watch for new ...` line is one, since an automation run for each item must end.
    """
    return Automation.compile(text, registry, filename, facts, watches=False)


def run_automation(
    automation: Automation, session: Session | None, facts: Mapping[str, Any], what: str, report: Callable[[str], None]
) -> bool:
    """Run an automation for one item or event; a failure is reported (naming `what`), not raised.

    A trigger has handed the item on once the automation started: running it again could repeat what
    it already did (send a message twice), so a failure is said, and the trigger moves on.
    """
    try:
        automation.run(session, facts=dict(facts))
    except BookError as err:
        where = getattr(err, "where", None)
        report(f"the automation failed on the {what}" + (f" at {where}" if where else "") + f": {err}")
    except Exception as err:  # a bug in a procedure: say so, keep going
        report(f"the automation failed on the {what} with an internal error: {type(err).__name__}: {err}")
    else:
        return True
    return False

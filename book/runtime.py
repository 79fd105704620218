"""The Python API: compile English once into a plan, then run it and get concept objects back.

    from book import Automation
    automation = Automation.compile(text, registry)       # LanguageError with every problem
    result = automation.run(session)                     # BookError on a failure at run time
    result.value                                         # the last line's result

A trigger (a watch, a webhook) compiles its automation with the facts it will bind (`compile_with_facts`:
`the event`, `the message`) and runs it once per item (`run_automation`), reporting a failure instead of
raising it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from book.compiler import compile_program
from book.errors import BookError
from book.plan import Plan
from book.registry import Registry
from book.source import checked
from grammar.parser import parse

if TYPE_CHECKING:
    from book.interpreter import Session


@dataclass(frozen=True)
class RunResult:
    """What a run left: the last line's result and every fact it defined."""

    value: Any
    facts: dict[str, Any]


@dataclass(frozen=True)
class Automation:
    """An automation compiled to a plan; run it as often as you like."""

    plan: Plan

    @classmethod
    def compile(
        cls, text: str, registry: Registry, filename: str | None = None, facts: Mapping[str, Any] | None = None,
        *, watches: bool = True,
    ) -> Automation:
        """Parse and compile; `facts` (name -> type or concept class) are facts the run will bind before
        the first line, as a trigger binds `the message`; `watches=False` refuses `watch for new ...` lines
        (for an automation that must end). Raises `LanguageError` with every problem."""
        program = parse(checked(text, filename), filename)
        return cls(compile_program(program, registry, filename, facts, watches=watches))

    def run(self, session: Session | None = None, facts: dict[str, Any] | None = None, *,
            stream: bool = False) -> RunResult:
        """Run the plan; with `stream`, a read on the last line gives an iterator, read as it is consumed."""
        from book.interpreter import Interpreter  # (a check needs none of it)

        env = Interpreter(session).run(self.plan, facts, stream=stream)
        return RunResult(env.above, env.facts)


def check(text: str, registry: Registry, filename: str | None = None) -> Plan:
    """Compile without running; raises `LanguageError` listing every problem."""
    return Automation.compile(text, registry, filename).plan


def run(text: str, registry: Registry, session: Session | None = None, filename: str | None = None) -> RunResult:
    """Compile and run English text; returns the last line's result and the facts."""
    return Automation.compile(text, registry, filename).run(session)


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

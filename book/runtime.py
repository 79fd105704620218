"""The Python API: compile English once into a plan, then run it and get concept objects back.

    from book import Automation
    automation = Automation.compile(text, registry)       # LanguageError with every problem
    result = automation.run(session)                     # BookError on a failure at run time
    result.value                                         # the last line's result
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from book.compiler import compile_program
from book.interpreter import Interpreter, Session
from book.plan import Plan
from book.registry import Registry
from grammar.parser import parse


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
        program = parse(text, filename)
        return cls(compile_program(program, registry, filename, facts, watches=watches))

    def run(self, session: Session | None = None, facts: dict[str, Any] | None = None, *,
            stream: bool = False) -> RunResult:
        """Run the plan; with `stream`, a read on the last line gives an iterator, read as it is consumed."""
        env = Interpreter(session).run(self.plan, facts, stream=stream)
        return RunResult(env.above, env.facts)


def check(text: str, registry: Registry, filename: str | None = None) -> Plan:
    """Compile without running; raises `LanguageError` listing every problem."""
    return Automation.compile(text, registry, filename).plan


def run(text: str, registry: Registry, session: Session | None = None, filename: str | None = None) -> RunResult:
    """Compile and run English text; returns the last line's result and the facts."""
    return Automation.compile(text, registry, filename).run(session)

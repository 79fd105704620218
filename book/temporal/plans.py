"""The book a worker serves, and the plans it runs: compiled once per automation, found again by a step's path.

A workflow and its activities name an automation by its source, file name and the types of the facts it is
given (`PlanRef`); each worker compiles it with its own registry (the same code on every worker) and keeps
the plan. A step is named by its path: its index in the plan, then in its block (`(2, 0)`: the first line of
the third line's block), so an activity runs the very line the workflow reached.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

from book import plan as p
from book.authoring import Book
from book.errors import BookError
from book.runtime import Automation
from book.temporal.codec import Codec
from book.watching.watch import WatchReport

PlanRef = dict[str, Any]
"""`{"source": text, "filename": name or None, "facts": {fact: concept name}}`."""

_lock = threading.Lock()
_served: dict[str, Any] = {}
_plans: dict[str, tuple[p.Plan, dict[int, tuple[int, ...]]]] = {}


def serve(book: Book) -> None:
    """Make `book` the one this process's workflows and activities run automations of (the plans compiled for
    it are kept while it stays the same: a running workflow finds its steps by their place in them)."""
    with _lock:
        if _served.get("book") is book:
            return
        _served["book"] = book
        _served["codec"] = Codec({**book.all_concepts(), "watch report": WatchReport})
        _plans.clear()


def served() -> Book:
    book = _served.get("book")
    if book is None:
        raise BookError("this process serves no book on Temporal; start its worker with book.temporal.worker")
    return book


def codec() -> Codec:
    served()
    return _served["codec"]


def plan_ref(source: str, filename: str | None, facts: Mapping[str, type] | None = None) -> PlanRef:
    """How a workflow names its automation; `facts` are the classes of the facts it binds before its first line."""
    return {"source": source, "filename": filename,
            "facts": {name: getattr(cls, "concept_name", "") or cls.__name__ for name, cls in (facts or {}).items()}}


def plan_of(ref: PlanRef) -> p.Plan:
    """The automation's plan, compiled on first use (a `LanguageError` if it does not compile here)."""
    return _compiled(ref)[0]


def path_of(ref: PlanRef, step: p.Step) -> tuple[int, ...]:
    return _compiled(ref)[1][id(step)]


def step_at(ref: PlanRef, path: tuple[int, ...] | list[int]) -> Any:
    """The step at `path` in the automation's plan."""
    steps: tuple[Any, ...] = plan_of(ref).steps
    step: Any = None
    indexes = iter(path)
    for index in indexes:
        step = steps[index]
        blocks = p.blocks(step)
        # an `if` has a block per branch: the next index says which (a loop's or a watch's one body needs none)
        steps = blocks[next(indexes)] if isinstance(step, p.IfStep) else (blocks[0] if blocks else ())
    return step


def _compiled(ref: PlanRef) -> tuple[p.Plan, dict[int, tuple[int, ...]]]:
    key = hashlib.sha256(json.dumps(ref, sort_keys=True).encode()).hexdigest()
    found = _plans.get(key)
    if found is not None:
        return found
    book = served()
    concepts = book.all_concepts()
    types = {}
    for name, concept in ref.get("facts", {}).items():
        if concept not in concepts:
            raise BookError(f"the fact {name!r} is a {concept!r}, which this version of the {book.name} book does "
                            "not know: run the same version of the book on every worker and client")
        types[name] = concepts[concept]
    automation = Automation.compile(ref["source"], book.registry, ref.get("filename"), types or None,
                                    watches=not types)
    paths: dict[int, tuple[int, ...]] = {}

    def walk(steps: tuple[Any, ...], prefix: tuple[int, ...]) -> None:
        for index, step in enumerate(steps):
            paths[id(step)] = (*prefix, index)
            if isinstance(step, p.IfStep):
                for branch, block in enumerate(p.blocks(step)):
                    walk(block, (*prefix, index, branch))
            else:
                walk(getattr(step, "body", ()), (*prefix, index))

    walk(automation.plan.steps, ())
    with _lock:
        _plans[key] = (automation.plan, paths)
    return automation.plan, paths

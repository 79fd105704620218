"""Read a procedure's docstring: summary, `Input Concepts:`, `Output Concepts:`/`Returns:`, `Example N:`."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_SECTION = re.compile(r"^(Input Concepts|Output Concepts|Returns|Example(?:\s+\d+)?|Examples)\s*:\s*(.*)$", re.I)
_ENTRY = re.compile(r"^(?:the\s+|an?\s+)?([A-Za-z][\w '\-]*?)\s*:\s*(.+)$", re.I)


@dataclass(frozen=True, slots=True)
class Example:
    """One example: what it shows, and its English (the `>>>` and `...` lines, without the prompts)."""

    title: str
    text: str


@dataclass(slots=True)
class Docstring:
    summary: str = ""
    description: str = ""
    inputs: dict[str, str] = field(default_factory=dict)  # english name -> description
    outputs: dict[str, str] = field(default_factory=dict)  # english name -> description
    returns: str = ""
    examples: list[Example] = field(default_factory=list)


def parse_docstring(doc: str | None) -> Docstring:
    """Split a docstring into its sections; entries are `name: description` lines (continuations indented)."""
    result = Docstring()
    if not doc:
        return result
    lines = inspect.cleandoc(doc).splitlines()
    preamble: list[str] = []
    sections: list[tuple[str, str, list[str]]] = []
    for line in lines:
        match = _SECTION.match(line) if not line.startswith((" ", "\t")) else None
        if match:
            sections.append((match.group(1).lower(), match.group(2).strip(), []))
        elif sections:
            sections[-1][2].append(line)
        else:
            preamble.append(line)
    paragraphs = "\n".join(preamble).strip().split("\n\n")
    result.summary = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    result.description = "\n\n".join(" ".join(p.split()) for p in paragraphs[1:] if p.strip())
    for name, rest, body in sections:
        if name == "input concepts":
            result.inputs = _entries(body)
        elif name == "output concepts":
            result.outputs = _entries(body)
        elif name == "returns":
            result.returns = " ".join([rest, *(b.strip() for b in body)]).strip()
        else:
            result.examples.append(_example(rest, body))
    return result


def _entries(body: list[str]) -> dict[str, str]:
    entries: dict[str, str] = {}
    last = None
    for raw in body:
        line = raw.strip()
        if not line:
            continue
        match = _ENTRY.match(line) if not raw.startswith(("        ", "\t\t")) else None
        if match:
            last = " ".join(match.group(1).lower().split())
            entries[last] = match.group(2).strip()
        elif last is not None:
            entries[last] += " " + line
    return entries


def _example(title: str, body: list[str]) -> Example:
    title_lines = [title] if title else []
    english: list[str] = []
    for raw in body:
        line = raw.strip()
        if line.startswith(">>>"):
            english.append(line[4:] if line.startswith(">>> ") else line[3:])
        elif line.startswith("...") and english:
            english.append(raw.strip()[4:] if raw.strip().startswith("... ") else raw.strip()[3:])
        elif line and not english:
            title_lines.append(line)
    return Example(" ".join(title_lines).strip(), "\n".join(english))

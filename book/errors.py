"""The book's one exception hierarchy.

Every error a user can see is one of these; each says what was wrong, where, and what to do.

    BookError                      anything the book reports to a user
    ├── LanguageError              the English of an automation is wrong (exit code 2)
    │   ├── EnglishSyntaxError     a line does not parse
    │   └── CompileError           it parses, but names an unknown procedure, field or fact, or a bad value
    ├── AuthoringError             a book author declared a procedure or concept wrongly (raised at import)
    ├── InputError                 a value given to a procedure is invalid; nothing was sent
    ├── ConnectionError_           no usable connection, or bad credentials in it
    ├── NotFoundError              a singular read found nothing
    ├── RemoteError                the remote API (the service or its sandbox) refused a request
    │   └── DeliveryUnknownError   a send may or may not have reached the service; it was not resent
    └── SandboxError               the local sandbox could not start or was misused

`LanguageError` carries a list of `Problem`s, so the `check` command can report every one at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in an automation: what, where (1-based line and column), the source line, and a hint."""

    message: str
    line: int | None = None
    column: int | None = None
    source_line: str | None = None
    hint: str | None = None

    def render(self, filename: str | None = None) -> str:
        where = f"{filename}: " if filename else ""
        if self.line is not None:
            where = f"{filename or '<automation>'}:{self.line}:{self.column or 1}: "
        text = f"{where}{_cut(self.message)}"
        if self.source_line is not None and self.line is not None:
            shown, column = _clipped(self.source_line, self.column or 1)
            caret = " " * max(column - 1, 0) + "^"
            text += f"\n    {shown}\n    {caret}"
        if self.hint:
            text += f"\n  hint: {_cut(self.hint)}"
        return text


SHOWN_LINE = 160
"""The most characters of a source line an error shows: a longer one is cut around the column."""
SHOWN_MESSAGE = 600
"""The most characters of a problem's message an error shows (the middle of a longer one is left out)."""
SHOWN_PROBLEMS = 20
"""The most problems one error lists; it says how many more there are."""


def _cut(text: str) -> str:
    """A message or hint of at most about `SHOWN_MESSAGE` characters: a long run without a space in it (a
    megabyte value it quotes, say) keeps its start and end."""
    if len(text) <= SHOWN_MESSAGE:
        return text
    text = re.sub(r"\S{80,}", lambda run: f"{run[0][:50]}…{run[0][-10:]}", text)
    return text if len(text) <= SHOWN_MESSAGE * 4 else text[: SHOWN_MESSAGE * 4 - 20] + " … " + text[-17:]


def _clipped(line: str, column: int) -> tuple[str, int]:
    """`line` cut to at most `SHOWN_LINE` characters around `column`, and the column in what is shown."""
    if len(line) <= SHOWN_LINE:
        return line, column
    start = max(0, min(column - 1 - SHOWN_LINE // 2, len(line) - SHOWN_LINE))
    shown = line[start : start + SHOWN_LINE]
    prefix = "…" if start else ""
    suffix = "…" if start + SHOWN_LINE < len(line) else ""
    return prefix + shown + suffix, column - start + len(prefix)


class BookError(Exception):
    """Anything the book reports to a user; its message says what, where and what to do."""

    exit_code = 1


class LanguageError(BookError):
    """The English of an automation is wrong; carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem, filename: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.filename = filename
        super().__init__(self.render())

    def render(self) -> str:
        shown = [p.render(self.filename) for p in self.problems[:SHOWN_PROBLEMS]]
        more = len(self.problems) - SHOWN_PROBLEMS
        if more > 0:
            shown.append(f"... and {more:,} more problems like these; fix these first, then check again")
        return "\n".join(shown)


class EnglishSyntaxError(LanguageError):
    """A line of English does not parse."""


class CompileError(LanguageError):
    """The English parses but names an unknown procedure, field or fact, or gives a value of the wrong type."""


class AuthoringError(BookError):
    """A book author declared a procedure, phrase or concept wrongly; raised when it is registered."""


class InputError(BookError):
    """A value given to a procedure is invalid; nothing was sent."""


class ConnectionError_(BookError):
    """No usable connection, or the connection's credentials are missing or malformed."""


class NotFoundError(BookError):
    """A singular read (`read an SMS message whose ...`) found nothing."""


class RemoteError(BookError):
    """The remote API refused a request; carries its HTTP status, error code, message and more-info link.

    A book's subclass names its service (`service = "Acme"`: "(Acme error 21211, HTTP 400)"), so the
    code reads as the service's own.
    """

    service = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        more_info: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.more_info = more_info
        parts = [message]
        if code is not None:
            parts.append(f"({self.service} error {code}" if self.service else f"(error {code}")
            parts[-1] += f", HTTP {status})" if status else ")"
        if more_info:
            parts.append(f"see {more_info}")
        super().__init__(" ".join(parts))


class DeliveryUnknownError(RemoteError):
    """A send timed out after the request went out: it may have reached the service, so it was not resent."""


class SandboxError(BookError):
    """The local sandbox could not start, or was asked for something it cannot do."""

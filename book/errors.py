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
        where = ""
        if self.line is not None:
            where = f"{filename or '<automation>'}:{self.line}:{self.column or 1}: "
        text = f"{where}{self.message}"
        if self.source_line is not None and self.line is not None:
            caret = " " * max((self.column or 1) - 1, 0) + "^"
            text += f"\n    {self.source_line}\n    {caret}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


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
        return "\n".join(p.render(self.filename) for p in self.problems)


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

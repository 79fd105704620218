"""An automation's text as it comes in (a file, standard input, an agent's tool call), made fit to parse.

Before any text reaches the parser, `readable` turns a file's bytes into text and `checked` makes the text
one the parser can take in a bounded time, or says clearly why not, with the line and column:

- bytes that are not UTF-8 (a binary file, an image, a Latin-1 file) are refused, naming where;
- a leading byte order mark is dropped, and Windows (CRLF) and old Mac (CR) line ends read as newlines;
- a NUL or another control character (a tab is fine), and an invisible character (a zero-width space, a
  right-to-left override, a byte order mark) outside a quoted value or a comment, are refused: they
  would make a line read differently from how it looks;
- an automation longer than `MAX_CHARACTERS` or `MAX_LINES` is refused before it is parsed.

The errors are `EnglishSyntaxError`s (exit code 2), each `Problem` with its line and column; a source line
is shown clipped around the column (`book.errors.Problem.render`).
"""

from __future__ import annotations

import unicodedata

from book.errors import EnglishSyntaxError, Problem

__all__ = ["MAX_CHARACTERS", "MAX_LINES", "checked", "readable"]

MAX_CHARACTERS = 2_000_000
"""The longest automation the book parses (a line of a megabyte is fine)."""
MAX_LINES = 20_000
"""The most lines an automation may have (parsing takes about 50 µs a line)."""
_MAX_PROBLEMS = 20
_BOM = "\ufeff"
_QUOTES = {'"': '"', "\u201c": "\u201d"}
_INVISIBLE = frozenset({"Cf", "Zl", "Zp", "Co", "Cn"})
"""Format characters, line and paragraph separators, private and unassigned code points."""
_CONTROLS = {"\x00": "NULL", "\x07": "BELL", "\x08": "BACKSPACE", "\x0b": "LINE TABULATION", "\x0c": "FORM FEED",
             "\x1b": "ESCAPE", "\x7f": "DELETE"}
"""Names of the control characters most often met (Unicode gives them none)."""


def readable(data: bytes, filename: str | None = None) -> str:
    """The text of an automation file's bytes (UTF-8); `EnglishSyntaxError` naming where it is not text."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        binary = b"\x00" in data[:8192]
        what = ("this file is saved as UTF-16 text, not UTF-8" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else
                "this looks like a binary file, not an automation" if binary else
                f"the byte 0x{data[err.start]:02x} is not UTF-8 text")
        raise EnglishSyntaxError(Problem(
            what, line, column,
            hint="an automation is text, saved as UTF-8; check that this is the file you meant"
            + ("" if binary else " (and save it as UTF-8 in your editor)"),
        ), filename) from None


def checked(text: str, filename: str | None = None) -> str:
    """`text` with its line ends made newlines and a leading byte order mark dropped; `EnglishSyntaxError`
    listing the characters that can't be in an automation, or saying it is too long."""
    text = text.removeprefix(_BOM).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_CHARACTERS:
        raise EnglishSyntaxError(Problem(
            f"the automation is {len(text):,} characters long; the most the book reads is {MAX_CHARACTERS:,}",
            hint="split it into several automations"), filename)
    lines = text.count("\n") + (not text.endswith("\n"))
    if lines > MAX_LINES:
        raise EnglishSyntaxError(Problem(
            f"the automation has {lines:,} lines; the most the book reads is {MAX_LINES:,}",
            hint="split it into several automations"), filename)
    if _plain(text):
        return text
    problems = list(_strange(text))
    if problems:
        raise EnglishSyntaxError(problems, filename)
    return text


def _plain(text: str) -> bool:
    """A quick yes for text with only printable characters, tabs and newlines (the usual case)."""
    return all(line.replace("\t", " ").isprintable() for line in text.split("\n"))


def _strange(text: str):
    """A Problem for each control character, and for each invisible one outside a quoted value or a comment."""
    count = 0
    for number, line in enumerate(text.split("\n"), 1):
        closing: str | None = None
        escaped = False
        for column, char in enumerate(line, 1):
            category = unicodedata.category(char)
            if category == "Cc" and char != "\t":
                problem = Problem(f"a control character ({_name(char)}) can't be in an automation", number, column,
                                  _shown(line), "remove it; an automation is plain text")
            elif closing is None and (category in _INVISIBLE or category == "Zs" and char != " "):
                problem = Problem(f"an invisible character ({_name(char)}) is here, outside a quoted value", number,
                                  column, _shown(line), "delete it: it makes the line read differently from how it looks")
            else:
                if closing is None and char == "#":
                    break  # a comment: anything goes
                if closing is None and char in _QUOTES:
                    closing = _QUOTES[char]
                elif closing is not None and not escaped and char == closing:
                    closing = None
                escaped = closing == '"' and char == "\\" and not escaped
                continue
            count += 1
            if count > _MAX_PROBLEMS:
                return
            yield problem


def _name(char: str) -> str:
    name = _CONTROLS.get(char) or unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def _shown(line: str) -> str:
    """The line as the error shows it, each control and invisible character as a visible `?`."""
    return "".join("?" if _hidden(c) else c for c in line)


def _hidden(char: str) -> bool:
    category = unicodedata.category(char)
    return category in _INVISIBLE or category == "Cc" and char != "\t" or category == "Zs" and char != " "

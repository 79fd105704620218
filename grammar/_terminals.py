"""How the automation grammar's terminals are edited before its lexer is built (lark's `edit_terminals`).

It runs only when the parser module is generated (`grammar._loading`), so lark is imported here only then.
"""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"[A-Za-z]+(?:[\t ]+[A-Za-z]+)*")


def whole_words(terminal: Any) -> None:
    """Make a keyword of letters match only a whole word: `a` never takes the start of `apples`.

    Lark's contextual lexer tries only the terminals a state accepts, so where no name may follow (after
    `read`, only an article or a count), the keyword `a` matched the first letter of `read apples` and the
    rest became the name `pples`. A keyword becomes a regular expression with a word boundary after it,
    one priority above a name, so where both a keyword and a name fit, the keyword wins as it did.
    """
    from lark.lexer import PatternRE, PatternStr

    pattern = terminal.pattern
    if isinstance(pattern, PatternStr) and _WORD.fullmatch(pattern.value) and terminal.priority <= 1:
        text = re.escape(pattern.value).replace(r"\ ", r"[\t ]+")
        terminal.pattern = PatternRE(text + r"(?![A-Za-z0-9_\-])", pattern.flags, pattern.raw)
        terminal.priority = 1

"""Parse English automations (and procedure signature phrases) into the typed tree of `grammar.ast`.

The grammar is loaded once, at import, from the `.lark` file beside this module (its parser tables and
lark's runtime from the module `grammar._loading` generates, again whenever the grammar changes). Automations use
LALR with a tree-less transformer: the parser builds the typed nodes directly. Every failure is a
`book.errors.EnglishSyntaxError` with line, column, the source line, a caret and a hint for each mistake:
after the first, the parse goes on from the next top-level statement (see `_recover`).
"""

from __future__ import annotations

import functools
import re
import threading

from book.errors import EnglishSyntaxError, Problem
from grammar import ast
from grammar._runtime import (
    Indenter,
    Token,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    lark,
)
from grammar.transform import ToAst as _ToAst

__all__ = ["parse", "GRAMMAR_FILE"]

GRAMMAR_FILE = "automation.lark"


class _BookIndenter(Indenter):
    """Python-style indentation: an indented block follows `where`, `with` and `as follows`."""

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR"]
    CLOSE_PAREN_types = ["RPAR"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4

    def handle_NL(self, token: Token):
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
            return
        while indent < self.indent_level[-1]:
            self.indent_level.pop()
            yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
        if indent != self.indent_level[-1]:
            raise _Dedent(token.end_line or token.line, indent + 1, self.indent_level[-1])


class _Dedent(Exception):
    def __init__(self, line: int, column: int, expected: int) -> None:
        self.line, self.column, self.expected = line, column, expected


_PARSER = lark.load("automation", postlex=_BookIndenter(), transformer=_ToAst())  # its options: grammar._loading
_LOCK = threading.Lock()  # the indenter keeps state while a text is parsed

# Terminals, as a person would name them, for "expected ..." hints.
_TERMINAL_WORDS = {
    "NAME": "a word",
    "STRING": 'quoted text like "Hello"',
    "NUMBER": "a number",
    "DATE": "a date like 2022-03-01",
    "DATETIME": "a date and time like 2022-03-01T15:00:00Z",
    "_NL": "the end of the line",
    "_INDENT": "an indented line",
    "_DEDENT": "a line with less indentation",
    "$END": "the end of the text",
    "POSSESSIVE": "'s",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "ABOVE": "above",
    "WATCH": "'watch for new'",
    "EVERY": "every",
    "_AT_MOST": "at most",
    "UNIT": "a unit of time (seconds, minutes, hours, days, weeks, months or years)",
    "NUMWORD": "a number",
    "SLASHDATE": "a date",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "_AND": "'and'",
    "_OR": "'or'",
    "_ISNT": "isn't",
    "_DOESNT": "does not",
    "_MORE": "greater",
    "_LESS": "less",
    "_NUMBER_OF": "'number of'",
    "_OTHERWISE": "otherwise",
    "ANSWER": "'answer each'",
    "HANG_UP": "'hang up'",
    "MOMENT": "now, today or yesterday",
    "PERIOD": "this, last or next",
    "PICK": "first or last",
    "ORDER": "ascending or descending",
    "EQUAL": "'='",
    "MORETHAN": "'>'",
    "LESSTHAN": "'<'",
}
# What may always come next in a value (arithmetic, a unit), and what continues a list: left out of an
# "expected ..." hint when something else may come (the end of the line, most often).
_QUIET = frozenset({"PLUS", "MINUS", "STAR", "SLASH", "UNIT", "POSSESSIVE"})
_LIST_GOES_ON = frozenset({"COMMA", "_AND"})


def _expected(tokens: set[str]) -> str:
    if tokens - _QUIET:
        tokens = tokens - _QUIET
    if "_NL" in tokens:
        tokens = tokens - _LIST_GOES_ON
    words = []
    for name in sorted(tokens):
        if name in _TERMINAL_WORDS:
            if _TERMINAL_WORDS[name]:
                words.append(_TERMINAL_WORDS[name])
        elif not name.startswith("__"):
            words.append(f"'{name.lower().replace('_', ' ').strip()}'")
    words = sorted(set(words))
    if not words:
        return ""
    if len(words) > 8:
        words = words[:8] + ["..."]
    return "expected " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1])


# Known mistakes: (message, hint) -> example texts that make the parser fail in the same state.
_MISTAKES: dict[tuple[str, str], list[str]] = {
    ("'whose' needs a field and a comparison after it", 'write it like: whose sender number is "+18004445555"'): [
        "read some things whose\n",
        "read some things whose sid is \"x\" and whose\n",
    ],
    ("a value is missing here", 'give quoted text, a number, a date like 2022-03-01, or a fact like the start date'): [
        "read some things whose sid is\n",
        "read some things whose sid is after\n",
        "read some things whose sid contains\n",
        "the start date is\n",
    ],
    ("the lines of an input block must be indented", "indent each line under the line that ends with 'where', 'with' or 'as follows'"): [
        "send a thing where\nthe x is \"1\"\n",
        "process each thing as follows\nget the thing's x\n",
        "watch for new things as follows\nget the thing's x\n",
        "answer each thing as follows\nsay \"x\"\n",
        "send a thing as follows\nsay \"x\"\n",
        "send a thing to \"y\" as follows\nsay \"x\"\n",
    ],
    ("this line is indented, but nothing above it opens a block", "end the line above with 'where' (an input block) or 'as follows', or remove the indentation"): [
        "send a thing\n  the x is \"1\"\n",
        "the x is \"1\"\n  the y is \"2\"\n",
        "watch for new things\n  get the thing\n",
        "watch for new things whose x is \"1\"\n  get the thing\n",
        "watch for new things every 5 seconds\n  get the thing\n",
        "watch for new things at most 5 at a time\n  get the thing\n",
        "watch for new things whose x is \"1\" every 5 seconds\n  get the thing\n",
        "watch for new things whose x is \"1\" at most 5 at a time\n  get the thing\n",
        "watch for new things every 5 seconds at most 5 at a time\n  get the thing\n",
        "watch for new things at most 5 at a time every 5 seconds\n  get the thing\n",
    ],
    ("after the list, a comma goes before how many at a time", "write it like: for each number in the numbers, 8 at a time"): [
        "process each thing in the things 8 at a time\n  stop\n",
    ],
    ("a loop needs the name of each item", "write it like: for each message (in the messages), or process each message"): [
        "process each\n  stop\n",
        "for each\n  stop\n",
    ],
    ("'there are' needs what there is (or is none of)", "write it like: if there are no messages then"): [
        "if there are no\n  stop\n",
        "if there are\n  stop\n",
    ],
    ("a call needs a quantity before its noun", "say how many: some, a, an, the, all, or the first 10"): [
        "read things whose x is \"1\"\n",
    ],
    ("filter clauses must be joined", "join them with 'and whose' or 'or whose'"): [
        "read some things whose x is \"1\" whose y is \"2\"\n",
        "read some things whose x is \"1\" and y is \"2\"\n",
    ],
    ("a value is missing here", "give quoted text, a number, a date, or a fact like the start date"): [
        "say\n",
        "the x is 1 +\n",
        "the x is 1 *\n",
        "add to the counter\n",
        "the recipients are \"a\",\n",
        "send a thing to\n",
        "read some things whose x is between\n",
    ],
    ("the steps of an 'if' must be indented under it", "indent each step under the 'if' (or 'otherwise') line"): [
        "if the x is 1 then\nget the x\n",
        "if the x is 1 then\n  get the x\notherwise\nget the x\n",
    ],
    ("an 'if' needs a condition", 'write it like: if the message\'s body contains "STOP" then'): [
        "if\n",
    ],
    ("this condition has no comparison", "say what to check: is, is not, contains, is greater than, is empty, exists"): [
        "if the x then\n",
        "if the x\n",
        "if the x is 1 and the y then\n",
    ],
    ("'greater' and 'less' need 'than'", "write it like: is greater than 3, is less than 10"): [
        "read some things whose x is greater 3\n",
        "read some things whose x is less 3\n",
    ],
    ("'between' needs two values joined by 'and'", "write it like: is between 1 and 5"): [
        "read some things whose x is between 1 5\n",
        "read some things whose x is between 1\n",
    ],
    ("say what to add it to", "write it like: add 1 to the counter"): [
        "add 1\n",
    ],
    ("say what to subtract it from", "write it like: subtract 1 from the counter"): [
        "subtract 1\n",
    ],
    ("say what to sort by", "write it like: sort the messages by date sent (add 'descending' for the latest first)"): [
        "sort the things\n",
        "sort the things by\n",
    ],
    ("'hang up' is a line of its own", "write 'hang up' alone on its line, in a conversation block, to end the conversation"): [
        "hang up now\n",
        "hang up \"x\"\n",
    ],
    ("say which conversations to answer", "write it like: answer each inbound call as follows"): [
        "answer each\n",
    ],
    ("'in the last' needs a span of time", "write it like: is in the last 7 days"): [
        "read some things whose x is in the last 7\n",
    ],
}
@functools.cache
def _example_errors() -> list[tuple[tuple[str, str], UnexpectedToken]]:
    """Each known mistake's label with the error its example raises; the examples are parsed once."""
    found = []
    for label, texts in _MISTAKES.items():
        for example in texts:
            try:
                with _LOCK:
                    _PARSER.parse(example)
            except UnexpectedToken as err:
                found.append((label, err))
            except Exception:  # an example that fails otherwise can't be matched (a test keeps them honest)
                pass
    return found


def _known_mistake(err: UnexpectedToken) -> tuple[str, str] | None:
    """The label of the example that fails in the same parser state, wherever the line stands.

    lark's `match_examples` also compares the depth of the parser's stack, so it only knows a mistake
    on the first line of an automation; this compares the state and what it accepts.
    """
    candidate = None
    for label, example_err in _example_errors():
        if example_err.state.position != err.state.position or _allowed(example_err) != _allowed(err):
            continue
        if example_err.token.type == err.token.type:
            return label
        candidate = candidate or label
    return candidate


def _allowed(err: UnexpectedInput) -> set[str]:
    """The terminals the parser could take where it stopped: lark's exact `accepts` when it can work them
    out, else the state's `expected` (which, in LALR, may name terminals that only fit elsewhere)."""
    try:
        accepts = getattr(err, "accepts", None)
    except Exception:  # working out `accepts` re-runs reductions; a failure there only costs precision
        accepts = None
    return set(accepts or getattr(err, "expected", None) or ())


_PHONE = re.compile(r"\+\d{6,}")
# Words a person may use to compare that the English does not take as they stand (`is above 3`, `bigger 3`).
_COMPARING = re.compile(r"\b(greater|more|less|fewer|bigger|smaller|larger|higher|lower|above|below|over|under|"
                        r"equal|equals|than|same|between|later|earlier)\b", re.IGNORECASE)
_COMPARISONS_HINT = ("compare with: is, is not, is greater than, is less than, is at least, is at most, is between "
                     "1 and 5, is after, is before, is on or after, contains, starts with, or the symbols > < >= <= = !=")
_IF_HINT = ('an if line reads: if <condition> then, with its steps indented under it, like: '
            'if the message\'s body contains "STOP" then; or with one step after then: if ... then say "..." '
            '(a loop or a call with a block goes on the lines under it)')


def _explain(err: UnexpectedInput, text: str) -> tuple[str, str | None]:
    at = getattr(err, "pos_in_stream", None)
    if isinstance(err, UnexpectedToken):
        at = err.token.start_pos
    if isinstance(at, int) and _PHONE.match(text, at):  # `+18004445555`, not `2 + 3`
        return "a phone number must be quoted text", f'write it like "{_PHONE.match(text, at).group(0)}"'
    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        if ch == "'":
            return "text must be in double quotes", "write \"like this\", not 'like this'"
        if ch == '"':
            return "this quoted text is not closed on its line", 'end it with a double quote: "Hello!"'
        return f"I don't understand the character {ch!r} here", _expected(set(err.allowed or ())) or None
    allowed = _allowed(err)
    if isinstance(err, UnexpectedToken) and "STRING" in allowed and _COMPARING.fullmatch(str(err.token)):
        return f"'{err.token}' does not compare here", _COMPARISONS_HINT
    if isinstance(err, UnexpectedToken) and err.token.type == "NAME" and "STRING" in allowed and "NAME" not in allowed:
        return "text must be in double quotes", f'write "{err.token}" (or the {err.token}, for a fact defined above)'
    if isinstance(err, UnexpectedToken) and "IS" in allowed and "CONTAINS" in allowed:
        # a comparison was wanted: `whose stars greater than 3` (no `is`) reads `greater than` as the field's words
        line = _source_line(text, err.token.line) or ""
        found = _COMPARING.search(line, 0, max((err.token.column or 1) - 1, 0))
        if found:
            return "a comparison is missing or not one I know", f"put 'is' before '{found.group(0)}'; " + _COMPARISONS_HINT
    label = _known_mistake(err) if isinstance(err, UnexpectedToken) and err.state is not None else None
    if label:
        return label
    expected = _expected(allowed)
    if isinstance(err, UnexpectedEOF) or isinstance(err, UnexpectedToken) and err.token.type == "$END":
        return "the automation ends in the middle of a line", expected or None
    if isinstance(err, UnexpectedToken):
        seen = _TERMINAL_WORDS.get(err.token.type, repr(str(err.token)))
        return f"I did not expect {seen} here", expected or None
    return str(err).splitlines()[0], None


def _source_line(text: str, line: int | None) -> str | None:
    lines = text.split("\n")  # as lark counts lines: not at form feeds or U+2028, as splitlines() would
    if line is None or not (1 <= line <= len(lines)):
        return None
    return lines[line - 1].removesuffix("\r")


def _problem_at(message: str, line: int, column: int, text: str, hint: str | None) -> Problem:
    return Problem(message, line, column, _source_line(text, line), hint)


class _Failure:
    """What one failed parse left: its problems, and what the recovery needs to know about where it stopped."""

    __slots__ = ("problems", "cut_short", "expects_block")

    def __init__(self, problems: list[Problem], cut_short: bool = False, expects_block: bool = False) -> None:
        self.problems = problems
        self.cut_short = cut_short  # the line stopped short: the parser wanted more at its end
        self.expects_block = expects_block  # the parser wanted an indented block where it stopped


def _failure(err: Exception, text: str) -> _Failure:
    """The problems of a parse of `text` that raised `err` (one of the errors `parse` handles)."""
    if isinstance(err, _Dedent):
        where = "at the start of the line" if err.expected == 0 else f"with {err.expected} spaces"
        problem = _problem_at(
            "this line's indentation matches no block above it",
            err.line, err.column, text, f"line it up with the lines of its block: {where}",
        )
        return _Failure([problem])
    if isinstance(err, EnglishSyntaxError):
        return _Failure([_problem_at(p.message, p.line or 1, p.column or 1, text, p.hint) for p in err.problems])
    assert isinstance(err, UnexpectedInput)
    message, hint = _explain(err, text)
    line = getattr(err, "line", None)
    column = getattr(err, "column", None)
    cut_short = isinstance(err, UnexpectedEOF)
    if isinstance(err, UnexpectedToken) and err.token.type == "_INDENT":
        line, column = err.token.end_line or line, len(str(err.token)) + 1
    elif isinstance(err, UnexpectedToken) and err.token.type in ("_NL", "_DEDENT", "$END"):
        # Point at the end of the line that stopped short, not at the next one.
        end = err.token
        line = end.line if end.line is not None else line
        column = end.column if end.column is not None else column
        cut_short = True
    if not isinstance(line, int) or line < 1:
        line, column = max(1, text.count("\n")), 1
    message, hint = _on_an_if_line(message, hint, _source_line(text, line) or "")
    return _Failure([_problem_at(message, line, column or 1, text, hint)], cut_short, _expects_block(err))


_IF_LINE = re.compile(r"[\t ]*((otherwise|else)[\t ]+)?if\b", re.IGNORECASE)
_OTHERWISE_LINE = re.compile(r"[\t ]*(otherwise|else)\b", re.IGNORECASE)


def _on_an_if_line(message: str, hint: str | None, line: str) -> tuple[str, str | None]:
    """A mistake on an `if` (or `otherwise`) line says what such a line looks like."""
    if _IF_LINE.match(line):
        if message.startswith(("I did not expect", "the automation ends")):
            message = "in this 'if' line, " + message
        if hint and re.search(r"\bif\b", hint):  # the hint shows an if line already
            return message, hint
        return message, (f"{hint}; " if hint else "") + _IF_HINT
    if _OTHERWISE_LINE.match(line) and message.startswith(("I did not expect", "a call needs")):
        return ("'otherwise' must come right after the steps of an 'if', at the 'if' line's indentation",
                "write 'otherwise' (or 'otherwise if <condition> then') under the if block, and indent its steps")
    return message, hint


def _expects_block(err: UnexpectedInput) -> bool:
    """Whether the parser stopped where only an indented block may come (after `where`, `as follows`...)."""
    state = getattr(err, "state", None)
    try:
        return "_INDENT" in state.parse_conf.states[state.position]
    except Exception:  # no parser state to ask: then it was not waiting for a block
        return False


# -- recovery: after a mistake, parse on from the next top-level statement -----------------------------

_MAX_PROBLEMS = 20

# Pieces of a line that matter to where statements start: quoted text and comments (whose brackets do
# not count), brackets (inside which lines run on, as the indenter joins them), and an unclosed quote,
# taken to run to the end of its line.
_PIECES = re.compile(r'"(?:[^"\\\n]|\\.)*"|\u201c[^\u201d\n]*\u201d|#.*|[()]|["\u201c].*')
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z0-9_\-]*)\W*\Z")
_FIRST_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
# Words no statement starts with, but a filter or an `as follows` does: a line that starts with one,
# right after a line that stopped short, most likely goes on with that line.
_GOES_ON = frozenset({
    "and", "or", "not", "whose", "where", "with", "is", "are", "contains", "does", "starts", "ends", "after",
    "before", "at", "one", "of", "as", "follows", "in", "to", "every", "true", "false", "yes", "no",
})


def _opens_block(code: str) -> bool:
    """Whether a line (its comments and quoted text cut out) ends as a line that opens a block does."""
    found = _LAST_WORD.search(code)
    if not found:
        return False
    word = found.group(1).lower()
    if word in ("where", "follows"):
        return True
    if word == "with":  # but not `starts with` / `ends with`, which want a value
        before = code[: found.start(1)].split()
        return not before or before[-1].lower() not in ("starts", "ends")
    return False


def _goes_on(line: str) -> bool:
    """Whether a line starts as the rest of a line above it would: a filter word, a value or a bracket."""
    rest = line.lstrip(" \t\f")
    if rest[:1] in ('"', "\u201c", "'", "\u2019", "(", ")", ",", "+", "-") or rest[:1].isdigit():
        return True
    word = _FIRST_WORD.match(rest)
    return bool(word) and word.group(0).lower() in _GOES_ON


class _Lines:
    """The lines of a text, as lark counts them, with how deep in brackets each one starts."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.depth = [0] * (len(self.lines) + 1)  # depth[i]: open brackets at the start of line i + 1
        self.code = [""] * len(self.lines)  # each line without its comment, quoted text and brackets
        self.scanned = 0

    def scan_to(self, index: int) -> None:
        depth = self.depth[self.scanned]
        while self.scanned < min(index, len(self.lines)):
            kept = []
            last = 0
            line = self.lines[self.scanned]
            for piece in _PIECES.finditer(line):
                kept.append(line[last:piece.start()])
                last = piece.end()
                if piece.group(0) == "(":
                    depth += 1
                elif piece.group(0) == ")":
                    depth = max(depth - 1, 0)  # a stray bracket closes nothing
            kept.append(line[last:])
            self.code[self.scanned] = " ".join(kept)
            self.scanned += 1
            self.depth[self.scanned] = depth

    def starts_statement(self, number: int) -> bool:
        """Whether line `number` (1-based) surely starts a top-level statement, as far as the text shows."""
        self.scan_to(number)
        line = self.lines[number - 1]
        if self.depth[number - 1] > 0 or line[:1] in (" ", "\t"):
            return False
        rest = line.strip(" \t\f\r")
        return bool(rest) and not rest.startswith("#")

    def next_statement(self, after: int) -> int | None:
        """The first line after line `after` that starts a top-level statement, if one does and nothing
        above it leaves it in doubt: a block opened just above would take it, unindented."""
        for number in range(after + 1, len(self.lines) + 1):
            if self.starts_statement(number):
                above = next((self.code[i] for i in range(number - 2, -1, -1) if self.code[i].strip(" \t\f\r")), "")
                return None if _opens_block(above) else number
        return None


def _recover(source: str, first: _Failure) -> list[Problem]:
    """Every problem of `source` found with some certainty, the first one (`first`) included.

    After a mistake, the parse goes on from the next line that starts a top-level statement (a line at
    the start of the line, not inside brackets), with a fresh parser: so the rest of a broken statement,
    its indented block included, is skipped, and no problem comes from the skip itself. It stops where a
    next statement is in doubt: when the mistake is a block that is not indented (its lines would be taken
    for statements), and after at most `_MAX_PROBLEMS` problems.
    """
    problems = list(first.problems)
    failure = first
    lines = _Lines(source)
    while len(problems) < _MAX_PROBLEMS and failure.problems and not failure.expects_block:
        stopped = failure.problems[-1].line or 1
        start = lines.next_statement(stopped)
        # A line that stopped short may go on on the next line: then that line is part of the mistake.
        while start is not None and failure.cut_short and _goes_on(lines.lines[start - 1]):
            start = lines.next_statement(start)
        if start is None:
            break
        # Blank lines in place of the text above keep every line and column where it is.
        rest = "\n" * (start - 1) + source[_offset(lines.lines, start):]
        try:
            with _LOCK:
                _PARSER.parse(rest)
        except (_Dedent, EnglishSyntaxError, UnexpectedInput) as err:
            failure = _failure(err, rest)
        else:
            break
        if not failure.problems or any((p.line or 0) < start for p in failure.problems):
            break  # a problem above where this parse began can only come from the recovery
        problems.extend(failure.problems)
    return problems[:_MAX_PROBLEMS]


def _offset(lines: list[str], number: int) -> int:
    """Where line `number` (1-based) starts in the text the lines were split from."""
    return sum(len(line) + 1 for line in lines[: number - 1])


def parse(text: str, filename: str | None = None) -> ast.Program:
    """Parse an automation. Raises `EnglishSyntaxError` (with line, column, caret and hint) listing every
    mistake it finds: after one, it goes on from the next top-level statement."""
    source = text if text.endswith("\n") else text + "\n"
    try:
        with _LOCK:
            statements = _PARSER.parse(source)
    except (_Dedent, EnglishSyntaxError, UnexpectedInput) as err:
        first = _failure(err, source)
    else:
        return ast.Program(statements, text)
    raise EnglishSyntaxError(_recover(source, first), filename) from None

"""The tree-less transformer of the automation grammar: one small method per rule alias, each building a
typed node of `grammar.ast` as the LALR parser reduces (`grammar.parser` hands it to lark)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from book.errors import EnglishSyntaxError, Problem
from grammar import ast
from grammar._runtime import Token, Transformer, v_args

__all__ = ["ToAst"]


def _unquote(text: str) -> str:
    if text.startswith(("\u201c", "\u2018")):
        return text[1:-1]
    return _unescape(text[1:-1])


def _unescape(body: str) -> str:
    """Quoted text's body with its backslash escapes read: `\\n`, `\\t`, `\\"` and `\\\\`."""
    if "\\" not in body:
        return body
    out, chars = [], iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


def _pos(token: Token) -> ast.Pos:
    return ast.Pos(token.line or 1, token.column or 1)


def _syntax_error(message: str, token: Token, hint: str | None = None) -> EnglishSyntaxError:
    # The source line is filled in by `parse`, which has the text.
    return EnglishSyntaxError(Problem(message, token.line, token.column, None, hint))


def _whole(token: Token) -> int:
    try:
        return int(token)
    except ValueError:  # more digits than Python converts (see sys.get_int_max_str_digits)
        raise _syntax_error(f"the number {token[:12]}... has too many digits", token, "write a shorter number") from None


class _Preps(tuple):
    """The prepositions of a call, as the transformer hands them on (told apart from the other parts)."""


class _Words:
    """The words of a name as they are read, one at a time (in linear time); `name()` is the `ast.Name`."""

    __slots__ = ("names", "first")

    def __init__(self, first: Token) -> None:
        self.first, self.names = first, [str(first)]

    def add(self, name: Token) -> None:
        self.names.append(str(name))

    def name(self) -> ast.Name:
        return ast.Name(" ".join(self.names), _pos(self.first))


class _AtATime:
    """`8 at a time` of a loop, until `foreach` takes it."""

    __slots__ = ("count", "pos")

    def __init__(self, count: int, pos: ast.Pos) -> None:
        self.count, self.pos = count, pos


class _Else:
    """What follows an `if` block: the `otherwise if` branches and the `otherwise` steps."""

    __slots__ = ("branches", "body")

    def __init__(self, branches: tuple, body: tuple) -> None:
        self.branches, self.body = branches, body


_FILTERS = (ast.Comparison, ast.And, ast.Or, ast.Not)
_VALUES = (ast.Literal, ast.Above, ast.FactRef, ast.Possessive, ast.AboveField, ast.BinOp, ast.Template,
           ast.ListValue, ast.CountOf, ast.Pick, ast.Moment, ast.Duration, ast.Period)

# Numbers in words: up to twenty, and the round tens.
_NUMBER_WORDS = {word: n for n, word in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
_NUMBER_WORDS.update({word: 10 * n for n, word in enumerate(
    ["thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 3)})

def _parts(rest: tuple) -> tuple[_Preps, Any, list]:
    """A call's prepositions, filter and the rest (its inputs, or a block's statements), in any order."""
    preps, filter_, others = _Preps(), None, []
    for part in rest:
        if isinstance(part, _Preps):
            preps = part
        elif isinstance(part, _FILTERS) and filter_ is None and not others:
            filter_ = part
        else:
            others.append(part)
    return preps, filter_, others


def _count(token: Token) -> int:
    """A count written as digits or in words (`3`, `three`)."""
    word = str(token).lower()
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if "." in token or token.startswith("-"):
        raise _syntax_error(f"{token} is not a count of things", token, "use a whole number, like 10")
    return _whole(token)


@v_args(inline=True)
class ToAst(Transformer):
    """One small method per rule alias; each returns a typed node."""

    def start(self, *statements):
        return tuple(statements)

    # -- statements
    def call(self, verb, quantity, noun, *rest):
        preps, filter_, _ = _parts(rest)
        return ast.Call(ast.Name(str(verb), _pos(verb)), quantity, noun.name(), filter_, (), _pos(verb), tuple(preps))

    def call_with_inputs(self, verb, quantity, noun, *rest):
        preps, filter_, inputs = _parts(rest)
        return ast.Call(ast.Name(str(verb), _pos(verb)), quantity, noun.name(), filter_, tuple(inputs), _pos(verb),
                        tuple(preps))

    def call_with_block(self, verb, quantity, noun, *rest):
        preps, _, body = _parts(rest)
        return ast.Call(ast.Name(str(verb), _pos(verb)), quantity, noun.name(), None, (), _pos(verb), tuple(preps),
                        tuple(body))

    def answer(self, keyword, noun, *body):
        return ast.Answer(noun.name(), tuple(body), _pos(keyword))

    def answer_alone(self, keyword, noun):
        return ast.Answer(noun.name(), (), _pos(keyword))

    def hang_up(self, keyword):
        return ast.HangUp(_pos(keyword))

    def input(self, name, value):
        return ast.Input(name.name(), value)

    def assign(self, name, value):
        name = name.name()
        return ast.Assign(name, value, name.pos)

    def use(self, value, name):
        return ast.Use(value, name.name(), value.pos)

    def convert(self, value, type_name):
        return ast.Convert(value, type_name.name(), value.pos)

    def get(self, keyword, value, *rest):
        preps, filter_, _ = _parts(rest)
        return ast.Get(value, value.pos, tuple(preps), filter_)

    def get_call(self, keyword, quantity, noun, *rest):
        preps, filter_, _ = _parts(rest)
        return ast.Call(ast.Name(str(keyword), _pos(keyword)), quantity, noun.name(), filter_, (), _pos(keyword),
                        tuple(preps))

    def say(self, value):
        return ast.Say(value, value.pos)

    def stop(self, keyword):
        return ast.Stop(_pos(keyword))

    def wait(self, keyword, *rest):
        count = _count(rest[0]) if len(rest) == 2 else 1  # `wait for a minute`
        return ast.Wait(count, _unit(rest[-1]), _pos(keyword))

    def add(self, value, name):
        return ast.Change("+", value, name.name(), value.pos)

    def subtract(self, value, name):
        return ast.Change("-", value, name.name(), value.pos)

    def sort(self, listed, key, order=None):
        name = listed.name()
        return ast.Sort(ast.FactRef(name), key.name(), order is not None and str(order).lower() == "descending", name.pos)

    def foreach(self, item, *rest):
        item = item.name()
        collection = None
        if rest and isinstance(rest[0], _VALUES):
            collection, rest = rest[0], rest[1:]
        at_a_time = None
        if rest and isinstance(rest[0], _AtATime):
            at_a_time, rest = rest[0], rest[1:]
        return ast.ForEach(item, collection, tuple(rest), item.pos, at_a_time and at_a_time.count,
                           at_a_time and at_a_time.pos)

    def at_a_time(self, count):
        return _AtATime(_count(count), _pos(count))

    def if_(self, keyword, condition, *rest):
        body, more = self._block(rest)
        return ast.If(((condition, body), *more.branches), more.body, _pos(keyword))

    def otherwise(self, *statements):
        return _Else((), tuple(statements))

    def otherwise_if(self, _keyword, condition, *rest):
        body, more = self._block(rest)
        return _Else(((condition, body), *more.branches), more.body)

    @staticmethod
    def _block(rest: tuple) -> tuple[tuple, _Else]:
        if rest and isinstance(rest[-1], _Else):
            return tuple(rest[:-1]), rest[-1]
        return tuple(rest), _Else((), ())

    def watch(self, keyword, noun, *rest):
        preps, filter_, every, limit, body = self._watch_parts(rest)
        return ast.Watch(noun.name(), filter_, every, limit, body, _pos(keyword), preps)

    def watch_alone(self, keyword, noun, *rest):
        preps, filter_, every, limit, _ = self._watch_parts(rest)
        return ast.Watch(noun.name(), filter_, every, limit, (), _pos(keyword), preps)

    @staticmethod
    def _watch_parts(rest):
        filter_ = every = limit = None
        preps: tuple = ()
        if rest and isinstance(rest[0], _Preps):
            preps, rest = tuple(rest[0]), rest[1:]
        if rest and isinstance(rest[0], _FILTERS):
            filter_, rest = rest[0], rest[1:]
        while rest and isinstance(rest[0], ast.Every | ast.Limit):  # in either order
            if isinstance(rest[0], ast.Every):
                every = rest[0]
            else:
                limit = rest[0]
            rest = rest[1:]
        return preps, filter_, every, limit, tuple(rest)

    def poll_limit(self, number):
        return ast.Limit(float(number) if "." in number else _whole(number), _pos(number))

    def poll_every(self, keyword, *parts):
        count = None
        if len(parts) == 2:
            number = parts[0]
            count = float(number) if "." in number else _whole(number)
        unit = parts[-1]
        return ast.Every(count, ast.Name(str(unit), _pos(unit)), _pos(parts[0]))

    # -- quantity, prepositions and names
    def some(self):
        return ast.Quantity("some")

    def one(self):
        return ast.Quantity("one")

    def every(self):
        return ast.Quantity("every")

    def the(self):
        return ast.Quantity("the")

    def first(self, which, number):
        return ast.Quantity(str(which).lower(), _count(number))

    def first_one(self, which):
        """`the first message`, `the last message`: one (a list of one for a plural noun)."""
        return ast.Quantity(str(which).lower(), 1)

    def count_of_things(self, number):
        return ast.Quantity("count", _count(number))

    def preps(self, *preps):
        return _Preps(preps)

    def prep(self, word, value):
        return ast.Prep(str(word).lower(), value, _pos(word))

    def on_moment(self, token):
        """`read the messages sent today`: `on today`, as the procedure's `on` binds it."""
        return ast.Prep("on", self.moment(token), _pos(token))

    def on_period(self, which, unit):
        """`read the calls made this week`: `on this week` (a span of days, compared as `is this week`)."""
        return ast.Prep("on", self.period(which, unit), _pos(which))

    def words(self, first, name=None):
        if name is None:
            return _Words(first)
        first.add(name)
        return first

    noun = name = field = sorted = sort_key = picked = words

    # -- filters and conditions
    def or_(self, left, right):
        return ast.Or((*left.items, right) if isinstance(left, ast.Or) else (left, right))

    def and_(self, left, right):
        return ast.And((*left.items, right) if isinstance(left, ast.And) else (left, right))

    def not_(self, clause):
        return ast.Not(clause)

    c_or, c_and, c_not = or_, and_, not_

    def clause(self, field, comparison):
        op, value = comparison
        return ast.Comparison(field.name(), op, value)

    def test(self, value, comparison):
        op, operand = comparison
        return ast.Test(value, op, operand, value.pos)

    def there_are_none(self, words):
        name = words.name()
        return ast.Test(ast.FactRef(name), "empty", None, name.pos)

    def there_are_some(self, words):
        name = words.name()
        return ast.Test(ast.FactRef(name), "not_empty", None, name.pos)

    def exists(self, value):
        return ast.Exists(value, False, value.pos)

    def not_exists(self, value):
        return ast.Exists(value, True, value.pos)

    def one_of(self, *values):
        return ("one_of", tuple(values))

    def between(self, low, high):
        return ("between", (low, high))

    def within_last(self, *parts):
        unit = parts[-1]
        count = _count(parts[0]) if len(parts) == 2 else 1
        return ("ge", ast.Duration(count, _unit(unit), True, _pos(unit)))

    def empty(self):
        return ("empty", None)

    def not_empty(self):
        return ("not_empty", None)

    # -- values
    def string(self, token):
        return ast.Literal(_unquote(token), _pos(token))

    def template(self, *parts):
        """`"Hello {the customer's name}!"`: the text between the placeholders, and their values."""
        made: list[str | ast.Value] = []
        for part in parts:
            if isinstance(part, Token):
                text = _unescape(str(part)[1:-1])
                if text:
                    made.append(text)
            else:
                made.append(part)
        return ast.Template(tuple(made), _pos(parts[0]))

    def number(self, token):
        word = str(token).lower()
        if word in _NUMBER_WORDS:
            return ast.Literal(_NUMBER_WORDS[word], _pos(token))
        value = float(token) if "." in token else _whole(token)
        return ast.Literal(value, _pos(token))

    def datetime(self, token):
        try:
            value = datetime.fromisoformat(token.upper().replace(" ", "T"))
        except ValueError:
            raise _syntax_error(f"{token} is not a real date and time", token, 'write it like 2022-03-01T15:00:00Z') from None
        return ast.Literal(value, _pos(token))

    def date(self, token):
        try:
            value = date.fromisoformat(token)
        except ValueError:
            raise _syntax_error(f"{token} is not a real date", token, "write it like 2022-03-01") from None
        return ast.Literal(value, _pos(token))

    def slash_date(self, token):
        # read as date text is (month first, see book.dates), when the automation is compiled
        return ast.Literal(str(token), _pos(token))

    def true(self, token):
        return ast.Literal(True, _pos(token))

    def false(self, token):
        return ast.Literal(False, _pos(token))

    def duration(self, count, unit):
        return ast.Duration(_count(count), _unit(unit), False, _pos(count))

    def ago(self, count, unit):
        return ast.Duration(_count(count), _unit(unit), True, _pos(count))

    def moment(self, token):
        return ast.Moment(str(token).lower(), _pos(token))

    def period(self, which, unit):
        return ast.Period(str(which).lower(), _unit(unit), _pos(which))

    def above(self, token):
        return ast.Above(_pos(token))

    def above_field(self, token, _mark, field):
        return ast.AboveField(field.name(), _pos(token))

    def fact(self, name):
        return ast.FactRef(name.name())

    def possessive(self, owner, _mark, field):
        return ast.Possessive(owner.name(), field.name())

    def number_of(self, name, *_there):
        name = name.name()
        return ast.CountOf(ast.FactRef(name), name.pos)

    def number_of_above(self, token):
        return ast.CountOf(ast.Above(_pos(token)), _pos(token))

    def pick(self, which, *rest):
        count = None
        if isinstance(rest[0], Token):
            count, rest = _count(rest[0]), rest[1:]
        noun = rest[0].name()
        of = rest[1] if len(rest) > 1 else None
        return ast.Pick(str(which).lower(), count, noun, of, _pos(which))

    def list_(self, *items):
        return ast.ListValue(tuple(items), items[0].pos)

    def plus(self, left, right):
        return ast.BinOp("+", left, right, left.pos)

    def minus(self, left, right):
        return ast.BinOp("-", left, right, left.pos)

    def times(self, left, right):
        return ast.BinOp("*", left, right, left.pos)

    def divided(self, left, right):
        return ast.BinOp("/", left, right, left.pos)


def _unit(token: Token) -> str:
    word = str(token).lower()
    return word[:-1] if word.endswith("s") else word


def _make_comparison(op: str):
    return lambda self, value: (op, value)


for _op in ("eq", "ne", "gt", "lt", "ge", "le", "contains", "not_contains", "starts_with", "ends_with"):
    setattr(ToAst, _op, v_args(inline=True)(_make_comparison(_op)))

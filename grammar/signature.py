"""Parse a procedure's signature phrase (`to read some (*SMS* messages)`) when it is registered."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from book.errors import AuthoringError

__all__ = ["Signature", "parse_signature"]


@dataclass(frozen=True, slots=True)
class Signature:
    """A parsed phrase: verb, quantity, the noun's words (with proper-noun marks) and the output span."""

    phrase: str
    verb: str
    quantity: str  # "some" | "one" | "the" | "every"
    words: tuple[str, ...]
    proper: frozenset[int]  # indexes into `words` of proper nouns (written *like this*)
    output: tuple[int, int] | None  # [start, end) of the words in parentheses
    determiner: str = ""  # as the author wrote it: "an" in "to send an *SMS* message"

    @property
    def noun(self) -> str:
        return " ".join(self.words)

    @property
    def output_words(self) -> str | None:
        if self.output is None:
            return None
        return " ".join(self.words[self.output[0] : self.output[1]])

    @property
    def plural(self) -> bool:
        return self.quantity in ("some", "every") or (self.quantity == "the" and _looks_plural(self.words[-1]))


def _looks_plural(word: str) -> bool:
    return word.lower().endswith("s") and not word.lower().endswith("ss")


@v_args(inline=True)
class _ToSignature(Transformer):
    def __init__(self, phrase: str) -> None:
        super().__init__()
        self.phrase = phrase

    def start(self, verb, quantity, *parts):
        words: list[str] = []
        proper: set[int] = set()
        output = None
        for kind, items in parts:
            start = len(words)
            for text, is_proper in items:
                if is_proper:
                    proper.add(len(words))
                words.append(text)
            if kind == "output":
                if output is not None:
                    raise AuthoringError(f"the phrase {self.phrase!r} marks two output concepts; put one part in parentheses")
                output = (start, len(words))
        determiner = self.phrase.split()[2].lower()
        return Signature(self.phrase, str(verb).lower(), quantity, tuple(words), frozenset(proper), output, determiner)

    def some(self):
        return "some"

    def one(self):
        return "one"

    def the(self):
        return "the"

    def every(self):
        return "every"

    def word(self, token):
        return ("word", [(str(token), False)])

    def proper(self, *tokens):
        return ("proper", [(str(t), True) for t in tokens])

    def output(self, *parts):
        return ("output", [item for _kind, items in parts for item in items])


@functools.cache
def _grammar() -> Lark:
    """The phrase grammar, loaded when the first phrase is parsed (its tables from the cache of `grammar._loading`)."""
    from grammar._loading import load_parser

    return load_parser("signature.lark", __file__, parser="lalr")


def parse_signature(phrase: str) -> Signature:
    """Parse a signature phrase; a malformed phrase raises `AuthoringError` naming the column and the fix."""
    try:
        tree = _grammar().parse(phrase.strip())
    except UnexpectedInput as err:
        context = err.get_context(phrase.strip()).rstrip()
        raise AuthoringError(
            f"the procedure phrase {phrase!r} is malformed at column {getattr(err, 'column', '?')}:\n{context}\n"
            "write it like 'to read some (*SMS* messages)': 'to', a verb, a quantity (a, an, some, the), "
            "then the noun; parentheses mark the output concept, asterisks a proper noun"
        ) from None
    try:
        return _ToSignature(phrase).transform(tree)
    except VisitError as err:  # the transformer's own AuthoringError, without lark's wrapper
        raise err.orig_exc from None

"""A keyword matches only a whole word: `a`, `an`, `the`, `some`, `all` and the others never take the start
of a longer word (`read apples` once read as `read a pples`, `read anything` as `read an ything`)."""

from __future__ import annotations

import pytest

from book.errors import EnglishSyntaxError
from grammar.parser import parse
from tests.grammar.shapes import shape


def one(text: str):
    [statement] = parse(text).statements
    return shape(statement)


@pytest.mark.parametrize("word", ["apples", "anything", "thermostats", "somersaults", "allergies", "everything"])
def test_a_word_that_starts_with_a_quantity_is_not_cut(word):
    with pytest.raises(EnglishSyntaxError) as caught:
        parse(f"read {word}\n")
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (1, 6)
    assert "needs a quantity before its noun" in problem.message
    assert word in problem.source_line


@pytest.mark.parametrize(("text", "expected"), [
    ("read an anthology\n", ("call", "read", "one", "anthology", None, ())),
    ("read the theses\n", ("call", "read", "the", "theses", None, ())),
    ("read all allergies\n", ("call", "read", "every", "allergies", None, ())),
    ("read some somersaults\n", ("call", "read", "some", "somersaults", None, ())),
    ("sort the notes by byline\n", ("sort", ("fact", "notes"), "byline", False)),
])
def test_a_keyword_and_a_word_it_starts(text, expected):
    assert one(text) == expected


def test_keywords_still_win_where_a_name_also_fits():
    # at the start of a statement both a keyword and a name fit: the keyword, when it is the whole word
    assert one("if the iffy is 1 then\n  stop\n") == (
        "if", ((("test", ("fact", "iffy"), "eq", 1), (("stop",),)),), ())
    assert one("the theory is 3\n") == ("assign", "theory", 3)
    assert one("stopwatch the notes\n") == ("call", "stopwatch", "the", "notes", None, ())
    assert one("stop\n") == ("stop",)

"""Procedure phrases (`to read some (*SMS* messages)`) parse when they are registered."""

from __future__ import annotations

import pytest

from book.errors import AuthoringError
from grammar.signature import parse_signature


def test_output_and_proper_noun_marks():
    s = parse_signature("to read some (*SMS* messages)")
    assert (s.verb, s.quantity, s.words) == ("read", "some", ("SMS", "messages"))
    assert s.proper == frozenset({0})
    assert s.output == (0, 2)
    assert s.output_words == "SMS messages"
    assert s.noun == "SMS messages"
    assert s.plural


def test_a_singular_phrase_without_output():
    s = parse_signature("to send an *SMS* message")
    assert (s.verb, s.quantity, s.noun, s.output, s.output_words) == ("send", "one", "SMS message", None, None)
    assert s.proper == frozenset({0})
    assert not s.plural


@pytest.mark.parametrize(("phrase", "quantity", "plural"), [
    ("to read some notes", "some", True),
    ("to read all notes", "every", True),
    ("to read the notes", "the", True),
    ("to read the note", "the", False),
    ("to read a note", "one", False),
    ("TO Read SOME Notes", "some", True),
])
def test_quantities(phrase, quantity, plural):
    s = parse_signature(phrase)
    assert (s.quantity, s.plural) == (quantity, plural)
    assert s.verb == "read"


def test_the_output_may_be_part_of_the_noun():
    s = parse_signature("to read some old (notes)")
    assert s.words == ("old", "notes")
    assert s.output == (1, 2)


@pytest.mark.parametrize(("phrase", "column"), [
    ("read some notes", 1),
    ("to read notes", 9),
    ("to read some (notes", 15),
    ("to read some *notes", 15),
    ("to read some notes's", 19),
    ("to read some", 9),  # the phrase stops after its quantity
    ("", 1),
])
def test_a_malformed_phrase_names_its_column(phrase, column):
    with pytest.raises(AuthoringError) as caught:
        parse_signature(phrase)
    message = str(caught.value)
    assert f"is malformed at column {column}" in message
    assert "to read some (*SMS* messages)" in message  # says how to write it


def test_two_output_marks_are_an_authoring_error_not_a_lark_one():
    with pytest.raises(AuthoringError, match="marks two output concepts"):
        parse_signature("to read some (old) (notes)")

"""Regressions: a loop's item is not rebound by a call in its body; converting a day to a datetime."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import Field, SecretStr

from book.authoring import Book
from book.concept import type_words
from book.errors import CompileError, InputError
from book.interpreter import Session
from book.runtime import Automation, run
from tests.notes import make_book


def _run(text: str):
    book, store = make_book()
    return run(text, book.registry, Session(clients={"Notes": book.client_factory})), store


def test_a_call_in_a_loop_body_does_not_rebind_the_item():
    result, store = _run('write a Lark note where\n  the title is "a"\n'
                         'write a Lark note where\n  the title is "b"\n'
                         "read some notes\n"
                         "process each note as follows\n"
                         "  read some notes whose title is \"a\"\n"
                         "  get the note's title\n")
    assert result.value == ["a", "b"]


def test_converting_a_day_to_a_datetime_gives_its_utc_midnight():
    result, _ = _run('convert "2022-03-01" to a datetime\n')
    assert result.value == datetime(2022, 3, 1, tzinfo=timezone.utc)
    result, _ = _run('convert "2022-03-01T15:00:00Z" to a datetime\n')
    assert result.value == datetime(2022, 3, 1, 15, tzinfo=timezone.utc)


def test_a_sensitive_input_value_never_appears_in_an_error():
    book = Book("Vault")

    @book.procedure("to open a *vault* door")
    def open_door(pin: Annotated[SecretStr, Field(min_length=6)]) -> str:
        """Open the vault door.

        Input Concepts:
            the pin: The door's secret pin.

        Output Concepts:
            answer: Whether it opened.
        """
        return "opened"

    try:
        run('open a vault door where\n  the pin is "12345"\n', book.registry)
    except CompileError as err:
        assert "12345" not in str(err) and "the value given" in str(err)
    else:
        raise AssertionError("a short pin compiled")
    try:
        run('the pin is "54321"\nopen a vault door\n', book.registry)
    except InputError as err:
        assert "54321" not in str(err) and "nothing was sent" in str(err)
    else:
        raise AssertionError("a short pin ran")
    assert run('open a vault door where\n  the pin is "123456"\n', book.registry).value == "opened"
    assert type_words(SecretStr) == "sensitive"


def test_a_streamed_last_read_reads_only_as_it_is_consumed():
    book, store = make_book()
    for n in range(50):
        store.add(f"t{n}", stars=n % 3)
    automation = Automation.compile("read some notes whose stars is 1", book.registry)
    result = automation.run(Session(clients={"Notes": book.client_factory}), stream=True)
    assert store.yielded == 0  # nothing read yet
    first = next(result.value)
    assert first.stars == 1 and store.yielded == 2
    assert [n.title for n in result.value] == [f"t{n}" for n in range(4, 50, 3)]
    assert store.yielded == 50
    listed = automation.run(Session(clients={"Notes": book.client_factory})).value
    assert isinstance(listed, list) and len(listed) == 17

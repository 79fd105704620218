"""Checking values: a text type checked without a pydantic validator says what pydantic's would."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal, Optional

import pytest
from pydantic import AfterValidator, TypeAdapter, ValidationError, ValidationInfo

from book import values
from book.values import Invalid, coerce


def _code(value: str) -> str:
    value = value.strip()
    if not value.isdigit():
        raise ValueError(f"{value!r} is not a code: digits only, like 1234")
    return value


def _short(value: str) -> str:
    if len(value) > 4:
        raise AssertionError("At most 4 digits")
    return value


def _silent(value: str) -> str:
    raise ValueError


def _with_info(value: str, info: ValidationInfo) -> str:
    return value.upper()


Code = Annotated[str, AfterValidator(_code), AfterValidator(_short)]
Silent = Annotated[str, AfterValidator(_silent)]
WithInfo = Annotated[str, AfterValidator(_with_info)]


def _pydantic(value, annotation):
    try:
        return "ok", TypeAdapter(annotation).validate_python(value)
    except ValidationError as err:
        return "invalid", values._explain(err)


def _book(value, annotation):
    try:
        return "ok", coerce(value, annotation)
    except Invalid as err:
        return "invalid", str(err)


@pytest.mark.parametrize("value", [" 1234 ", "12345", "12a", "", "0"])
@pytest.mark.parametrize("annotation", [Code, Silent])
def test_a_checked_text_type_says_what_pydantic_says(value, annotation):
    assert values._text_checks(annotation) is not None  # checked without a validator
    assert _book(value, annotation) == _pydantic(value, annotation)


def test_the_reasons_read_as_words():
    assert _book("12a", Code) == ("invalid", "'12a' is not a code: digits only, like 1234")
    assert _book("12345", Code) == ("invalid", "at most 4 digits")
    assert _book("1", Silent) == ("invalid", "is invalid")


def test_other_types_and_values_are_left_to_pydantic():
    assert values._text_checks(WithInfo) is None  # a check that takes pydantic's info
    assert values._text_checks(Annotated[int, AfterValidator(_code)]) is None
    assert values._text_checks(str) is None
    assert coerce("abc", WithInfo) == "ABC"


AS_IS = [
    ("+15005550006", str), ("", str | None), (None, str | None), ("queued", Optional[Literal["queued", "sent"]]),  # noqa: UP045 (the typing.Union form)
    ("sent", Literal["queued", "sent"]), (5, int), (5, int | None), (2.5, float), (True, bool),
    (date(2022, 3, 1), date), (datetime(2022, 3, 1, 15, tzinfo=timezone.utc), datetime | None),
]
ASKED = [  # converted, refused, or a choice between types: pydantic says
    (True, int), (3, float), ("3", int), ("abc", int), (1.5, int), ("unsent", Literal["queued", "sent"]),
    (1, Literal[1, 2]), (3, str | int), ("x", str | int), (None, str), (datetime(2022, 3, 1, 15), date),
]


def _calls_to_pydantic() -> int:
    info = values._adapter.cache_info()
    return info.hits + info.misses


@pytest.mark.parametrize(("value", "annotation"), AS_IS, ids=repr)
def test_a_value_of_exactly_its_type_passes_as_pydantic_passes_it_without_a_validator(value, annotation):
    before = _calls_to_pydantic()
    got = _book(value, annotation)
    assert _calls_to_pydantic() == before
    assert got == _pydantic(value, annotation)
    assert type(got[1]) is type(_pydantic(value, annotation)[1])


@pytest.mark.parametrize(("value", "annotation"), ASKED, ids=repr)
def test_any_other_value_is_left_to_pydantic(value, annotation):
    before = _calls_to_pydantic()
    got = _book(value, annotation)
    assert _calls_to_pydantic() == before + 1
    assert got == _pydantic(value, annotation)
    assert type(got[1]) is type(_pydantic(value, annotation)[1])

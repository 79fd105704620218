"""Checking values: a text type checked without a pydantic validator says what pydantic's would."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError, ValidationInfo

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
    assert values._checks(annotation) is not None  # checked without a validator
    assert _book(value, annotation) == _pydantic(value, annotation)


def test_the_reasons_read_as_words():
    assert _book("12a", Code) == ("invalid", "'12a' is not a code: digits only, like 1234")
    assert _book("12345", Code) == ("invalid", "at most 4 digits")
    assert _book("1", Silent) == ("invalid", "is invalid")


def test_other_types_and_values_are_left_to_pydantic():
    assert values._checks(WithInfo) is None  # a check that takes pydantic's info
    assert values._checks(Annotated[str, AfterValidator(_code)] | int) is None  # a choice between types
    assert values._checks(Annotated[str, AfterValidator(_code), BeforeValidator(_upper)]) is None  # a check first
    assert values._checks(Annotated[list[str], AfterValidator(_code)]) is None
    assert values._checks(str) is None
    assert coerce("abc", WithInfo) == "ABC"


def _upper(value):
    if not isinstance(value, str):
        raise ValueError("give a text")
    return value.strip().upper()


def _small(value: int) -> int:
    if value > 10:
        raise ValueError(f"{value} is more than 10")
    return value


Method = Annotated[Literal["GET", "POST"], BeforeValidator(_upper)]
Small = Annotated[int, AfterValidator(_small)]
CHECKED = {"Code": Code, "Optional[Code]": Optional[Code], "Code | None": Code | None, "Method": Method,  # noqa: UP045
           "Method | None": Method | None, "Small": Small, "Optional[Small]": Optional[Small],  # noqa: UP045
           "upper then code": Annotated[str, BeforeValidator(_upper), AfterValidator(_code)]}
VALUES = [" 1234 ", "12345", "12a", "", "get", " post ", "PUT", 5, 50, True, 5.0, 2.5, None]


def _the_books_own_rule(value, annotation):
    """A number for a text or a date, a text for a date, a day for a datetime (it stays a day): the book's own rules,
    in its own words, before pydantic is asked."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    day = isinstance(value, date) and not isinstance(value, datetime)
    return (number and (values.allows_only(annotation, (str,)) or values.allows_only(annotation, (date, datetime)))
            or isinstance(value, str) and values.wants_a_date(annotation) or day and values.is_datetime(annotation))


def _exact(value, annotation):
    """Whether the value is decided without pydantic: of exactly the type the conversions give."""
    parts = values._checks(annotation)
    if parts is None or value is None:
        return False
    try:
        return values._checked(value, parts) is not values._UNDECIDED
    except Invalid:
        return True


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("name", CHECKED)
def test_a_checked_type_with_conversions_says_what_pydantic_says(value, name):
    annotation = CHECKED[name]
    if _the_books_own_rule(value, annotation):
        assert _book(value, annotation)[1].startswith("expected text, got the number")
        return
    before = _calls_to_pydantic()
    got = _book(value, annotation)
    assert got == _pydantic(value, annotation)
    assert type(got[1]) is type(_pydantic(value, annotation)[1])
    # pydantic was asked only when the value, converted, was not exactly of the type
    assert _calls_to_pydantic() == before + (not _exact(value, annotation))


def test_each_input_of_the_twilio_book_says_what_pydantic_says():
    from procedures import BOOK

    samples = ["+15005550006", "+1 500 555", "whatsapp:+15005550006", "get", "MP3", "https://example.com/t", "",
               "CA" + "0" * 32, "RE" + "a" * 32, "MM" + "1" * 32, "in-progress, completed", "x" * 1601, "<Response/>",
               "1234#", "{\"1\": \"a\"}", "12.5", 0, 5, 30, 100000, -1, 0.5, True, date(2022, 3, 1)]
    decided = 0
    for procedure in BOOK.registry:
        for spec in procedure.inputs:
            for value in samples:
                if _the_books_own_rule(value, spec.annotation):
                    continue
                assert _book(value, spec.annotation) == _pydantic(value, spec.annotation), (procedure.english, spec.name, value)
                decided += _exact(value, spec.annotation)
    assert decided > 300  # most without pydantic


AS_IS = [
    ("+15005550006", str), ("", str | None), (None, str | None), ("queued", Optional[Literal["queued", "sent"]]),  # noqa: UP045 (the typing.Union form)
    ("sent", Literal["queued", "sent"]), (5, int), (5, int | None), (2.5, float), (True, bool),
    (date(2022, 3, 1), date), (datetime(2022, 3, 1, 15, tzinfo=timezone.utc), datetime | None),
]
CONVERTED = [  # converted or refused as pydantic does it, in its words, without it
    (True, int), (3, float), ("abc", int), (1.5, int), (2.0, int | None), ("unsent", Literal["queued", "sent"]),
    ("many", Optional[int]), ("soon", float), ("yes", bool), ("Off", bool | None), ("maybe", bool), (1, bool),  # noqa: UP045
    (2, bool), (True, str), (5, Literal["a", "b", "c"]),
]
ASKED = [  # converted, refused, or a choice between types: pydantic says
    ("3", int), (" 12 ", float), ("inf", float), (" yes", bool), (1.0, bool), ("it", Literal["it's", "x"]),
    (1, Literal[1, 2]), (3, str | int), ("x", str | int), (None, str), (datetime(2022, 3, 1, 15), date),
]


def _calls_to_pydantic() -> int:
    info = values._adapter.cache_info()
    return info.hits + info.misses


@pytest.mark.parametrize(("value", "annotation"), AS_IS + CONVERTED, ids=repr)
def test_a_value_passed_as_is_or_surely_converted_or_refused_is_so_as_by_pydantic_without_a_validator(
        value, annotation):
    """A value of exactly its type passes as pydantic passes it; one pydantic would surely convert or refuse is so."""
    before = _calls_to_pydantic()
    got = _book(value, annotation)
    assert _calls_to_pydantic() == before
    assert got == _pydantic(value, annotation)
    assert type(got[1]) is type(_pydantic(value, annotation)[1])


_SIMPLE = {"int": int, "float": float, "bool": bool, "str": str, "int | None": int | None,
           "Optional[float]": Optional[float], "bool | None": bool | None,  # noqa: UP045
           "Literal": Literal["queued", "in-progress", "sent"], "one Literal": Literal["a"],
           "Literal | None": Literal["mono", "dual"] | None, "Small": Small, "Method": Method}
_WORDS = st.sampled_from(["", " ", "inf", "-Infinity", "NaN", "e", ".", "+", "1_000", " 12 ", "1.0", "1.5", "007",
                          "١٢", "true", "YES", " yes", "On", "f", "0", "2", "queued", "in-progress", "a", "get", "POST",
                          "mono", "1e3", "0x10", "-0"])
_ANY_VALUE = st.one_of(_WORDS, st.text(max_size=8), st.integers(-10**20, 10**20), st.floats(allow_nan=False,
                       allow_infinity=False), st.booleans())


@pytest.mark.parametrize("name", _SIMPLE)
@settings(max_examples=300, deadline=None)
@given(value=_ANY_VALUE)
def test_any_value_of_a_simple_type_is_what_pydantic_makes_of_it(name, value):
    annotation = _SIMPLE[name]
    if _the_books_own_rule(value, annotation):
        return
    got, expected = _book(value, annotation), _pydantic(value, annotation)
    assert repr(got) == repr(expected)  # (nan is not nan)
    assert type(got[1]) is type(expected[1])


@pytest.mark.parametrize(("value", "annotation"), ASKED, ids=repr)
def test_any_other_value_is_left_to_pydantic(value, annotation):
    before = _calls_to_pydantic()
    got = _book(value, annotation)
    assert _calls_to_pydantic() == before + 1
    assert got == _pydantic(value, annotation)
    assert type(got[1]) is type(_pydantic(value, annotation)[1])

"""Filters: what a procedure may push to its API, and the whole filter applied locally as items stream in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

from book.authoring import Book
from book.errors import NotFoundError
from book.filters import AllOf, AnyOf, Condition, FilterExpression, Not, Pushdown
from book.runtime import Automation
from tests.notes import Note

UTC = timezone.utc
TITLE_EQ = {"title": {"eq"}}


def ids(result) -> list[str]:
    return [note.id for note in result.value]


# -- pushdown ----------------------------------------------------------------------------------------------


def test_pushdown_takes_the_top_level_and_conditions_the_api_supports():
    title, stars, body = Condition("title", "eq", "a"), Condition("stars", "ge", 2), Condition("body", "contains", "x")
    expression = FilterExpression(AllOf((title, stars, body)))
    pushed = expression.pushdown({"title": {"eq"}, "stars": {"ge", "le"}})
    assert pushed == Pushdown((title, stars), complete=False)
    assert pushed.get("title") == "a"
    assert pushed.get("stars") is None  # get() looks for `eq` unless told otherwise
    assert pushed.get("stars", "ge") == 2
    assert pushed.all("stars", "ge") == [2]


def test_pushdown_is_complete_when_every_condition_is_pushed():
    expression = FilterExpression(AllOf((Condition("title", "eq", "a"), Condition("stars", "ge", 2))))
    assert expression.pushdown({"title": {"eq"}, "stars": {"ge"}}).complete


def test_a_single_condition_is_a_conjunct():
    assert FilterExpression(Condition("title", "eq", "a")).pushdown(TITLE_EQ) == Pushdown((Condition("title", "eq", "a"),), True)


def test_an_operator_the_api_lacks_is_not_pushed():
    pushed = FilterExpression(Condition("title", "ne", "a")).pushdown(TITLE_EQ)
    assert pushed == Pushdown((), complete=False)


def test_an_or_is_never_pushed_even_when_each_side_could_be():
    either = AnyOf((Condition("title", "eq", "a"), Condition("title", "eq", "b")))
    assert FilterExpression(either).pushdown(TITLE_EQ) == Pushdown((), complete=False)
    both = AllOf((either, Condition("stars", "eq", 1)))
    assert FilterExpression(both).pushdown({"title": {"eq"}, "stars": {"eq"}}) == Pushdown((Condition("stars", "eq", 1),), False)


def test_a_not_is_never_pushed():
    assert FilterExpression(Not(Condition("title", "eq", "a"))).pushdown(TITLE_EQ) == Pushdown((), complete=False)


def test_the_fields_a_filter_reads():
    expression = FilterExpression(AnyOf((Not(Condition("title", "eq", "a")), AllOf((Condition("stars", "eq", 1),)))))
    assert expression.fields() == {"title", "stars"}


def test_the_compiled_filter_reaches_the_procedure_with_values_of_the_fields_type(notes):
    seen = []
    book = Book("Spy")

    @book.procedure("to read some (notes)")
    def read_notes(filter_expression: FilterExpression | None = None) -> list[Note]:
        """Read notes."""
        seen.append(filter_expression)
        return []

    text = 'the least is "2"\nread some notes whose stars is at least the least and whose written is 2022-03-01 or whose title is "a"'
    Automation.compile(text, book.registry).run()
    assert seen == [FilterExpression(AnyOf((
        AllOf((Condition("stars", "ge", 2), Condition("written", "eq", date(2022, 3, 1)))),
        Condition("title", "eq", "a"),
    )))]


# -- the whole filter applies locally ---------------------------------------------------------------------


def test_a_field_the_api_does_not_support_still_filters(notes):
    result = notes.run('read some notes whose body contains "MOM"')
    assert ids(result) == ["N2"]
    assert notes.store.pushed == [{"title": None, "limit": None}]  # nothing was pushed: body is not supported
    assert notes.store.yielded == 4


def test_a_pushed_condition_narrows_what_the_api_returns(notes):
    result = notes.run('read some notes whose title is "todo" and whose stars is 1')
    assert ids(result) == ["N2"]
    assert notes.store.pushed == [{"title": "todo", "limit": None}]
    assert notes.store.yielded == 1


def test_a_pushed_condition_is_not_trusted_blindly():
    book = Book("Sloppy")

    @book.procedure("to read some (notes)")
    def read_notes(filter_expression: FilterExpression | None = None) -> list[Note]:
        """Read notes: claims to filter on the title, but returns everything."""
        assert filter_expression.pushdown(TITLE_EQ).complete
        return [Note(id="1", title="a"), Note(id="2", title="b")]

    result = Automation.compile('read some notes whose title is "b"', book.registry).run()
    assert [n.id for n in result.value] == ["2"]


@pytest.mark.parametrize(("clauses", "expected"), [
    ('whose title is "groceries"', ["N1"]),
    ('whose title is "GROCERIES"', []),
    ('whose title is not "todo"', ["N1", "N3", "N4"]),
    ('whose title contains "GROCER"', ["N1", "N3"]),
    ('whose title does not contain "grocer"', ["N2", "N4"]),
    ('whose title starts with "groc"', ["N1", "N3"]),
    ('whose title ends with "PARTY"', ["N3"]),
    ("whose stars is at least 3", ["N1", "N3"]),
    ("whose stars is at most 1", ["N2", "N4"]),
    ("whose stars is after 1", ["N1", "N3"]),
    ("whose stars is before 1", ["N4"]),
    ("whose stars is one of (0, 5)", ["N3", "N4"]),
    ('whose id is one of ("N2", "N9")', ["N2"]),
    ('whose body is not "call mom"', ["N1", "N3", "N4"]),
    ('whose body contains "a"', ["N1", "N2", "N4"]),
    ('whose body does not contain "a"', ["N3"]),
    ('whose title contains "groc" and whose stars is at least 4', ["N3"]),
    ('whose title is "todo" or whose stars is 0', ["N2", "N4"]),
    ('whose title is "todo" or whose title contains "groc" and whose stars is 3', ["N1", "N2"]),
    ('not whose title contains "groc"', ["N2", "N4"]),
    ('whose stars is at least 1 and not whose title is "todo"', ["N1", "N3"]),
])
def test_every_operator_filters_locally(notes, clauses, expected):
    assert ids(notes.run(f"read some notes {clauses}")) == expected


def test_a_missing_value_only_equals_nothing():
    condition = Condition("body", "eq", None)
    assert condition.test(Note(id="1", title="a"))
    assert not condition.test(Note(id="1", title="a", body="x"))
    assert not Condition("body", "gt", "a").test(Note(id="1", title="a"))


def test_values_that_do_not_compare_do_not_match():
    assert not Condition("title", "gt", 3).test(Note(id="1", title="a"))


# -- dates and datetimes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("clause", "expected"), [
    ("whose written is 2022-03-02", ["N2", "N4"]),
    ("whose written is not 2022-03-02", ["N1", "N3"]),
    ("whose written is after 2022-03-01", ["N2", "N3", "N4"]),
    ("whose written is before 2022-03-02", ["N1"]),
    ("whose written is at least 2022-03-02", ["N2", "N3", "N4"]),
    ("whose written is at most 2022-03-02", ["N1", "N2", "N4"]),
    ("whose written is one of (2022-03-01, 2022-03-05)", ["N1", "N3"]),
    ('whose written is "2022-03-05"', ["N3"]),
])
def test_a_date_stands_for_its_whole_day(notes, clause, expected):
    assert ids(notes.run(f"read some notes {clause}")) == expected


@pytest.mark.parametrize(("clause", "expected"), [
    ("whose written is after 2022-03-02T00:00:00Z", ["N2", "N3"]),
    ("whose written is at least 2022-03-02T00:00:00Z", ["N2", "N3", "N4"]),
    ("whose written is 2022-03-01T09:00:00Z", ["N1"]),
    ("whose written is 2022-03-01T11:00:00+02:00", ["N1"]),
    ("whose written is after 2022-03-02T20:00:00+02:00", ["N2", "N3"]),
    ("whose written is before 2022-03-02 12:00", ["N1", "N4"]),  # a datetime without a zone is UTC
    ('whose written is before "2022-03-01T09:00:01Z"', ["N1"]),
])
def test_datetimes_compare_to_the_second_and_across_zones(notes, clause, expected):
    assert ids(notes.run(f"read some notes {clause}")) == expected


def test_a_date_beside_a_datetime_in_another_zone_takes_the_utc_day():
    late = Note(id="1", title="a", written=datetime(2022, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert Condition("written", "eq", date(2022, 3, 2)).test(late)  # 04:30 UTC on the 2nd
    naive = Note(id="2", title="a", written=datetime(2022, 3, 1, 23, 30))
    assert Condition("written", "eq", date(2022, 3, 1)).test(naive)


# -- limits and singular reads -----------------------------------------------------------------------------


def test_the_first_n_stops_the_stream_after_n_items(notes):
    assert ids(notes.run("read the first 2 notes")) == ["N1", "N2"]
    assert notes.store.yielded == 2
    assert notes.store.pushed[-1]["limit"] == 2


def test_the_first_n_counts_matches_not_items_read(notes):
    result = notes.run('read the first 2 notes whose stars is at least 1')
    assert ids(result) == ["N1", "N2"]
    assert notes.store.yielded == 2
    notes.store.yielded = 0
    assert ids(notes.run('read the first 1 notes whose body contains "book"')) == ["N4"]
    assert notes.store.yielded == 4


def test_a_bare_count_is_a_limit(notes):
    assert ids(notes.run("read 3 notes")) == ["N1", "N2", "N3"]
    assert notes.store.yielded == 3


def test_a_count_beyond_any_list_reads_everything(notes):
    assert ids(notes.run("read the first 99999999999999999999999 notes")) == ["N1", "N2", "N3", "N4"]


def test_a_singular_read_returns_one_object(notes):
    result = notes.run('read a note whose title contains "groc"')
    assert isinstance(result.value, Note) and result.value.id == "N1"
    assert notes.store.yielded == 1  # it stopped at the first match
    assert notes.store.pushed[-1]["limit"] == 1
    assert result.facts["note"] is result.value


def test_the_with_a_singular_noun_is_a_singular_read(notes):
    assert notes.run('read the note whose id is "N3"').value.title == "Groceries for the party"


def test_a_singular_read_that_finds_nothing_is_not_found(notes):
    with pytest.raises(NotFoundError) as caught:
        notes.run('the title is "x"\nread a note whose title is "nothing like it"')
    assert "no note matches this line's 'whose' clauses" in str(caught.value)
    assert caught.value.where == "line 2: read a note whose title is \"nothing like it\""


def test_a_singular_read_without_a_filter_on_an_empty_book():
    book = Book("Empty")

    @book.procedure("to read some (notes)")
    def read_notes() -> Iterator[Note]:
        """Read notes."""
        yield from ()

    with pytest.raises(NotFoundError, match="there is no note to read"):
        Automation.compile("read a note", book.registry).run()

"""Running a plan: facts, the above, possessives, conversions, process each, and inputs checked before a call."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from book.errors import BookError, InputError
from book.filters import FilterExpression
from book.interpreter import Session
from book.runtime import Automation, run
from tests.notes import Note

UTC = timezone.utc


def test_results_are_bound_under_the_noun_and_the_output_name(notes):
    result = notes.run('read some notes whose stars is at least 3\nwrite a Lark note where\n  the title is "new"\n')
    assert [n.id for n in result.facts["notes"]] == ["N1", "N3"]
    assert result.facts["answer"] == "N5"
    assert result.facts["lark note"] == "N5"
    assert result.value == "N5"


def test_a_later_line_reads_an_earlier_result_by_name(notes):
    text = 'write a Lark note where\n  the title is "new"\nread a note whose id is the answer\nget the note\'s title\n'
    assert notes.run(text).value == "new"


def test_process_each_binds_the_item_and_collects_each_result(notes):
    text = "read some notes whose stars is at least 1\nprocess each note as follows\n  get the note's title\n"
    result = notes.run(text)
    assert result.value == ["groceries", "todo", "Groceries for the party"]


def test_process_each_in_a_named_list(notes):
    text = (
        "read some notes whose stars is at least 3\n"
        'the heading is "x"\n'
        "process each note in the notes as follows\n"
        "  get the note's stars\n"
    )
    assert notes.run(text).value == [3, 5]


def test_process_each_with_a_plural_name_knows_the_item_by_its_singular_too(notes):
    text = "read some notes whose stars is at least 3\nprocess each notes as follows\n  get the note's title\n"
    assert notes.run(text).value == ["groceries", "Groceries for the party"]


def test_the_above_at_the_start_of_a_block_is_the_current_item(notes):
    text = (
        "read some notes whose stars is at least 3\n"
        "process each note as follows\n"
        "  use the above as the current\n"
        "  get the current's title\n"
    )
    assert notes.run(text).value == ["groceries", "Groceries for the party"]
    # typed at compile time: the current is a note, so a misspelt field is caught before anything runs
    [(line, _, message, _)] = notes.problems(text.replace("current's title", "current's titel"))
    assert (line, message) == (4, "a note has no field 'titel'")


def test_process_each_nests_and_calls_procedures_in_its_body(notes):
    text = (
        "read some notes whose stars is at least 3\n"
        "process each note as follows\n"
        "  write a Lark note where\n"
        "    the title is the note's title\n"
        "    the body is the note's body\n"
        "    the stars is 0\n"
        "read some notes whose stars is 0\n"
        "process each note as follows\n"
        "  process each other in the notes as follows\n"
        "    get the other's id\n"
    )
    result = notes.run(text)
    assert [n.title for n in notes.store.notes[4:]] == ["groceries", "Groceries for the party"]
    assert result.value == [["N4", "N5", "N6"]] * 3


def test_facts_defined_inside_a_block_stay_there(notes):
    text = "read some notes\nprocess each note as follows\n  use the note's id as the last id\nget the last id\n"
    [(line, _, message, _)] = notes.problems(text)
    assert (line, message) == (4, "'the last id' is not defined before this line")


def test_possessives_read_fields(notes):
    text = 'read a note whose id is "N2"\nget the note\'s written\n'
    assert notes.run(text).value == datetime(2022, 3, 2, 18, 30, tzinfo=UTC)
    assert notes.run('read a note whose id is "N3"\nget the note\'s body\n').value is None


def test_use_the_above_as(notes):
    text = 'read a note whose id is "N1"\nget the note\'s title\nuse the above as the heading\nget the heading\n'
    result = notes.run(text)
    assert result.facts["heading"] == "groceries" and result.value == "groceries"


def test_assignment_and_the_above(notes):
    result = notes.run('the start date is 2022-03-01\nuse the above as the first day\n')
    assert result.facts["start date"] == result.facts["first day"] == date(2022, 3, 1)


@pytest.mark.parametrize(("text", "value"), [
    ('convert "2022-03-01T15:00:00Z" to a datetime', datetime(2022, 3, 1, 15, tzinfo=UTC)),
    ('convert "2022-03-01" to a date', date(2022, 3, 1)),
    ('convert "42" to a whole number', 42),
    ('convert "4.5" to a number', 4.5),
    ('convert "true" to a boolean', True),
    ('convert "hello" to text', "hello"),
])
def test_convert(notes, text, value):
    result = notes.run(text)
    assert result.value == value and type(result.value) is type(value)


def test_convert_a_fact_and_use_it_in_a_filter(notes):
    text = 'the start is "2022-03-02T12:00:00Z"\nconvert the start to a datetime\nuse the above as the start date\n' \
           "read some notes whose written is after the start date\n"
    assert [n.id for n in notes.run(text).value] == ["N2", "N3"]


def test_converting_a_fact_that_does_not_fit_is_an_input_error_at_run_time(notes):
    with pytest.raises(InputError) as caught:
        notes.run('the x is "soon"\nconvert the x to a datetime\n')
    assert str(caught.value).startswith('"soon" can\'t be converted to a datetime: ')
    assert caught.value.where == "line 2: convert the x to a datetime"


def test_a_fact_of_the_wrong_type_fails_before_the_procedure_is_called(notes):
    text = 'the stars is "many"\nwrite a Lark note where\n  the title is "a"\n'
    with pytest.raises(InputError) as caught:
        notes.run(text)
    assert 'the stars "many" is not valid' in str(caught.value) and "nothing was sent" in str(caught.value)
    assert caught.value.where == "line 2: write a Lark note where"
    assert len(notes.store.notes) == 4


def test_a_filter_value_of_the_wrong_type_fails_before_the_procedure_is_called(notes):
    with pytest.raises(InputError, match='"lots" can\'t be compared with the stars'):
        notes.run('the least is "lots"\nread some notes whose stars is at least the least\n')
    assert notes.store.pushed == [] and notes.store.yielded == 0


def test_a_field_of_a_value_that_is_not_a_concept_is_an_input_error(notes):
    # the result of a `process each` is typed only when it runs; here its items are text, without fields
    automation = Automation.compile(
        "read some notes\n"
        "process each note as follows\n"
        "  get the note's title\n"
        "use the above as the titles\n"
        "process each t in the titles as follows\n"
        "  get the t's title\n",
        notes.book.registry,
    )
    with pytest.raises(InputError) as caught:  # not str.title, a method of the text
        automation.run(notes.session())
    assert str(caught.value) == "the t has no 'title': it is text, not a concept"
    assert caught.value.where == "line 6: get the t's title"


def test_a_plan_runs_as_often_as_you_like(notes):
    automation = Automation.compile('write a Lark note where\n  the title is "again"\n', notes.book.registry)
    assert [automation.run(notes.session()).value for _ in range(3)] == ["N5", "N6", "N7"]


def test_facts_can_be_given_to_a_run(notes):
    # a fact the English defines wins over one given from outside
    result = notes.run('the heading is "mine"\n', facts={"heading": "theirs", "other": 1})
    assert result.facts == {"heading": "mine", "other": 1}


def test_a_client_is_made_once_per_session_and_only_when_needed(notes):
    made = []
    session = Session({"Notes": lambda: made.append(1) or notes.store})
    Automation.compile('the x is "a"', notes.book.registry).run(session)
    assert made == []
    Automation.compile("read some notes\nread some notes\n", notes.book.registry).run(session)
    assert made == [1]


def test_a_book_without_a_connection_says_so(notes):
    with pytest.raises(BookError, match="the Notes book has no connection in this session"):
        run("read some notes", notes.book.registry, Session())


def test_progress_is_reported_while_a_long_list_streams(notes):
    for i in range(5):
        notes.store.add(f"extra {i}")
    messages: list[str] = []
    session = Session({"Notes": lambda: notes.store}, progress=messages.append, progress_every=4)
    run("read some notes", notes.book.registry, session)
    assert messages == ["read 4 notes so far...", "read 8 notes so far..."]


def test_a_procedure_returning_a_list_is_filtered_too():
    from book.authoring import Book

    book = Book("Lists")

    @book.procedure("to read some (notes)")
    def read_notes(filter_expression: FilterExpression | None = None) -> list[Note]:
        """Read notes, ignoring the filter."""
        return [Note(id="1", title="a"), Note(id="2", title="b"), Note(id="3", title="b")]

    result = run('read the first 1 notes whose title is "b"', book.registry)
    assert [n.id for n in result.value] == ["2"]

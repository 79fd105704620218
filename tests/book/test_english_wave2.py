"""The English people write (issue 11), run on the Notes book: conditionals, comparisons in words and symbols,
counting and arithmetic, text, lists, dates on an injected clock, prepositions, synonyms, punctuation, `stop`.

The notes: N1 "groceries" (3 stars, 2022-03-01 09:00, "milk and eggs"), N2 "todo" (1, 2022-03-02 18:30,
"call mom"), N3 "Groceries for the party" (5, 2022-03-05 23:45, no body), N4 "ideas" (0, 2022-03-02 00:00).
The clock stands at Sunday 2022-03-06 12:00 GMT.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from book.dates import Span
from book.errors import CompileError, InputError, NotFoundError
from book.interpreter import Session
from book.runtime import Automation

UTC = timezone.utc
NOW = datetime(2022, 3, 6, 12, 0, tzinfo=UTC)


def run(notes, text: str, said: list | None = None, now: datetime = NOW):
    session = Session({notes.book.name: lambda: notes.store}, now=lambda: now,
                      say=said.append if said is not None else None)
    return Automation.compile(text, notes.book.registry).run(session)


def ids(result) -> list[str]:
    return [note.id for note in result.value]


# -- conditionals ----------------------------------------------------------------------------------


def test_if_then_with_an_indented_block(notes):
    said: list = []
    run(notes, 'read a note whose id is "N1"\nif the note\'s body contains "milk" then\n  say "buy milk"\n', said)
    assert said == ["buy milk"]
    said.clear()
    run(notes, 'read a note whose id is "N2"\nif the note\'s body contains "milk" then\n  say "buy milk"\n', said)
    assert said == []


@pytest.mark.parametrize(("stars", "expected"), [(5, "many"), (3, "some"), (1, "one"), (0, "none")])
def test_otherwise_if_and_otherwise_take_the_first_branch_that_holds(notes, stars, expected):
    text = (
        f"the stars is {stars}\n"
        "if the stars is greater than 3 then\n"
        '  say "many"\n'
        "otherwise if the stars >= 2\n"
        '  say "some"\n'
        "else if the stars = 1 then\n"
        '  say "one"\n'
        "otherwise\n"
        '  say "none"\n'
    )
    said: list = []
    run(notes, text, said)
    assert said == [expected]


def test_nested_conditionals_inside_a_loop(notes):
    text = (
        "read some notes\n"
        "process each note as follows\n"
        "  if the note's stars is at least 3 then\n"
        '    if the note\'s body is empty then\n'
        '      say the note\'s title + ": starred, empty"\n'
        "    else\n"
        '      say the note\'s title + ": starred"\n'
        "  otherwise if not the note's title starts with \"i\"\n"
        '    say the note\'s title\n'
    )
    said: list = []
    run(notes, text, said)
    assert said == ["groceries: starred", "todo", "Groceries for the party: starred, empty"]


@pytest.mark.parametrize(("condition", "holds"), [
    ('the note\'s title is "groceries" and the note\'s stars is 3', True),
    ('the note\'s title is "todo" or the note\'s stars is 3', True),
    ('the note\'s title is "todo", or the note\'s stars is 4', False),
    ('not the note\'s title is "todo"', True),
    ("the note's body isn't empty", True),
    ("the note's body is not empty", True),
    ('the note\'s body doesn\'t contain "milk"', False),
    ('the note\'s body does not contain "bread"', True),
    ("the note exists", True),
    ("the note does not exist", False),
    ("the note's stars is between 1 and 3", True),
    ("the note's stars is between 4 and 5", False),
    ("the note's written is on or after 2022-03-01", True),
    ("the note's written is on or before 2022-02-28", False),
    ("the note's written is in the last 7 days", True),
    ("the note's written is in the last day", False),
    ("the note's written is this week", True),
    ("the note's written is last week", False),
    ('the note\'s written is "March 1, 2022"', True),
    ('the note\'s written is "03/01/2022"', True),
    ("the note's stars != 3", False),
    ("the note's stars < 4 and the note's stars > 2", True),
    ("the note's stars <= 3 and the note's stars >= 3 and the note's stars == 3", True),
    ("the note's stars is fewer than 3", False),
    ("the note's stars is more than 2", True),
    ("the note's stars is equal to three", True),
    ("the note's stars is not equal to 3", False),
    ("the note's stars is less than 10", True),
])
def test_a_condition_reuses_the_filter_comparisons(notes, condition, holds):
    said: list = []
    run(notes, f'read a note whose id is "N1"\nif {condition} then\n  say "yes"\notherwise\n  say "no"\n', said)
    assert said == ["yes" if holds else "no"]


def test_a_condition_on_an_unknown_field_is_found_before_anything_runs(notes):
    [(line, column, message, hint)] = notes.problems('read a note whose id is "N1"\nif the note\'s colour is "red" then\n'
                                                     '  say "red"\n')
    assert (line, column, message) == (2, 15, "a note has no field 'colour'")


def test_an_order_on_text_in_a_condition_is_found_before_anything_runs(notes):
    [(line, _, message, _)] = notes.problems('the x is "a"\nif the x is greater than "b" then\n  stop\n')
    assert (line, message) == (2, "this is text, which has no order")


# -- comparisons in filters --------------------------------------------------------------------------


@pytest.mark.parametrize(("clause", "expected"), [
    ("whose stars is greater than 2", ["N1", "N3"]),
    ("whose stars is more than 2", ["N1", "N3"]),
    ("whose stars is less than 2", ["N2", "N4"]),
    ("whose stars is fewer than 1", ["N4"]),
    ("whose stars is equal to 5", ["N3"]),
    ("whose stars is between 1 and 3", ["N1", "N2"]),
    ("whose written is on or after 2022-03-02", ["N2", "N3", "N4"]),
    ("whose written is on or before 2022-03-01", ["N1"]),
    ("whose stars > 3", ["N3"]),
    ("whose stars < 1", ["N4"]),
    ("whose stars >= 3", ["N1", "N3"]),
    ("whose stars <= 1", ["N2", "N4"]),
    ("whose stars = 1", ["N2"]),
    ("whose stars != 1", ["N1", "N3", "N4"]),
    ('whose title isn\'t "todo"', ["N1", "N3", "N4"]),
    ('whose title doesn\'t contain "o"', ["N4"]),
    ("whose body is empty", ["N3"]),
    ("whose body is not empty", ["N1", "N2", "N4"]),
    ("whose written is in the last 7 days", ["N1", "N2", "N3", "N4"]),
    ("whose written is in the last 2 days", ["N3"]),
    ("whose written is in the last 5 days", ["N2", "N3", "N4"]),
    ("whose written is after yesterday", []),
    ("whose written is before today", ["N1", "N2", "N3", "N4"]),
    ("whose written is after 3 days ago", ["N3"]),
    ("whose written is after 6 days ago", ["N1", "N2", "N3", "N4"]),
    ("whose written is this week", ["N1", "N2", "N3", "N4"]),  # Monday 2022-02-28 on
    ("whose written is last week", []),
    ("whose written is this month", ["N1", "N2", "N3", "N4"]),
    ("whose written is last month", []),
    ('whose written is after "March 2, 2022"', ["N3"]),
    ('whose written is "03/02/2022"', ["N2", "N4"]),
    ('whose written is after "March 2, 2022 13:00 America/New_York"', ["N2", "N3"]),  # 18:00 GMT
    ('whose written is after "March 2, 2022 1:45pm America/New_York"', ["N3"]),
    ("whose stars is at least three", ["N1", "N3"]),
    ('whose stars >= 1, and whose title contains "o"', ["N1", "N2", "N3"]),
])
def test_comparisons_in_words_and_symbols_in_filters(notes, clause, expected):
    assert ids(run(notes, f"read some notes {clause}")) == expected


def test_between_and_a_period_are_two_conditions_so_they_can_be_pushed_down(notes):
    plan = notes.check("read some notes whose stars is between 1 and 3 and whose title is \"todo\"")
    [step] = plan.steps
    assert [(c.field, c.op) for c in step.filter.items] == [("stars", "ge"), ("stars", "le"), ("title", "eq")]
    assert step.pushed[0].field == "title"


def test_a_period_beside_a_field_without_order_is_a_compile_error(notes):
    [(_, _, message, _)] = notes.problems("read some notes whose title is last week")
    assert message == "the title is text, which has no order"


# -- counting and arithmetic ---------------------------------------------------------------------------


def test_the_number_of_how_many_and_count(notes):
    text = "read some notes whose stars is at least 1\nthe total is the number of notes\n"
    assert run(notes, text).facts["total"] == 3
    assert run(notes, "read some notes\nsay how many notes\n", said := []).value == 4 and said == [4]
    assert run(notes, "read some notes\ncount the notes\n").value == 4
    assert run(notes, 'read some notes\ncount the notes whose title contains "groceries"\n').value == 2
    assert run(notes, "count the notes whose stars > 0\n").value == 3  # no such fact: counted as it is read


def test_a_counter_fact_counts_across_the_items_of_a_loop(notes):
    text = (
        "the counter is 0\n"
        "the misses is ten\n"
        "read some notes\n"
        "process each note as follows\n"
        "  if the note's stars is at least 1 then\n"
        "    add 1 to the counter\n"
        "  otherwise\n"
        "    subtract 2 from the misses\n"
        "get the counter\n"
    )
    result = run(notes, text)
    assert result.value == 3 and result.facts["counter"] == 3 and result.facts["misses"] == 8


@pytest.mark.parametrize(("expression", "value"), [
    ("2 + 3", 5),
    ("2 + 3 * 4", 14),
    ("(2 + 3) * 4", 20),
    ("10 - 4 - 3", 3),
    ("7 / 2", 3.5),
    ("8 / 2", 4),
    ("1.5 * 2", 3.0),
    ("the start date + 3 days", date(2022, 3, 4)),
    ("the start date - 1 week", date(2022, 2, 22)),
    ("the start date + 1 month", date(2022, 4, 1)),
    ("now - 2 hours", NOW - timedelta(hours=2)),
    ("today + 2 days", date(2022, 3, 8)),
    ("3 days ago", NOW - timedelta(days=3)),
    ("yesterday", date(2022, 3, 5)),
    ("tomorrow", date(2022, 3, 7)),
    ("now", NOW),
    ("today - the start date", Span(5, "day")),
    ('"Hi " + "there"', "Hi there"),
    ('"stars: " + 3', "stars: 3"),
    ("twenty + thirty", 50),
])
def test_arithmetic_on_numbers_dates_and_text(notes, expression, value):
    result = run(notes, f"the start date is 2022-03-01\nthe x is {expression}\n")
    assert result.facts["x"] == value


def test_arithmetic_on_values_of_the_wrong_kinds_is_found_before_anything_runs(notes):
    [(line, _, message, hint)] = notes.problems("the start date is 2022-03-01\nthe x is the start date * 2\n")
    assert (line, message) == (2, "a date times a number can't be worked out")
    assert "+ joins text" in hint
    [(_, _, message, hint)] = notes.problems('the counter is 2022-03-01\nadd 1 to the counter\n')
    assert message == "I can't add this to the counter: a date plus a number can't be worked out"
    assert hint.startswith("the counter is a date; add a number, or a span of time to a date")


def test_dividing_by_zero_is_an_input_error(notes):
    with pytest.raises(InputError, match="can't be divided by zero"):
        run(notes, "the zero is 0\nthe x is 1 / the zero\n")


# -- text -----------------------------------------------------------------------------------------------


def test_text_joined_with_a_fact_and_a_template(notes):
    text = (
        'read a note whose id is "N2"\n'
        'the greeting is "Hi " + the note\'s title\n'
        'say "Note {the note\'s id} has {the note\'s stars} star, written {the note\'s written}"\n'
    )
    said: list = []
    result = run(notes, text, said)
    assert result.facts["greeting"] == "Hi todo"
    assert said == ["Note N2 has 1 star, written 2022-03-02T18:30:00+00:00"]


def test_braces_that_hold_no_placeholder_stay_text(notes):
    assert run(notes, 'the json is "{\\"a\\": 1} {AccountSid}"\n').value == '{"a": 1} {AccountSid}'


def test_a_placeholder_with_a_mistake_says_where(notes):
    [(line, column, message, _)] = notes.problems('the x is "a"\nsay "Hello {the y}"\n')
    assert (line, column, message) == (2, 17, "'the y' is not defined before this line")


def test_say_prints_a_line_when_the_session_has_no_hook(notes, capsys):
    session = Session({notes.book.name: lambda: notes.store})
    Automation.compile('say "Hello " + 2\nsay 2.0\n', notes.book.registry).run(session)
    assert capsys.readouterr().out == "Hello 2\n2\n"


# -- lists ----------------------------------------------------------------------------------------------


def test_a_list_written_out_and_processed_item_by_item(notes):
    text = 'the titles are "a", "b", and "c"\nprocess each title in the titles\n  write a note saying the title\n'
    result = run(notes, text)
    assert result.facts["titles"] == ["a", "b", "c"]
    text = ('the titles are "x" and "y"\nprocess each title in the titles as follows\n'
            "  write a Lark note where\n    the title is the title\n")
    run(notes, text)
    assert [n.title for n in notes.store.notes[-2:]] == ["x", "y"]


def test_sort_the_first_and_the_last(notes):
    base = "read some notes\nsort the notes by stars descending\n"
    assert [n.stars for n in run(notes, base).value] == [5, 3, 1, 0]
    assert run(notes, base + "get the first note of the above\n").value.id == "N3"
    assert run(notes, base + "get the first note of the notes\n").value.id == "N3"
    assert run(notes, base + "get the last note\n").value.id == "N4"
    assert ids(run(notes, base + "get the last 2 notes\n")) == ["N2", "N4"]
    assert ids(run(notes, "read some notes\nsort the notes by written\nget the first three notes\n")) == ["N1", "N4", "N2"]
    assert ids(run(notes, "read the last 2 notes")) == ["N3", "N4"]
    assert ids(run(notes, "read the first two notes")) == ["N1", "N2"]


def test_sorting_by_a_field_a_note_lacks(notes):
    [(line, _, message, hint)] = notes.problems("read some notes\nsort the notes by colour\n")
    assert (line, message) == (2, "a note has no field 'colour' to sort by")


# -- calls ----------------------------------------------------------------------------------------------


def test_a_one_line_call_binds_what_its_prepositions_declare(notes):
    assert ids(run(notes, "read the notes written after 2022-03-01")) == ["N2", "N3", "N4"]
    assert ids(run(notes, "read the memos written before 2022-03-02 ")) == ["N1"]
    assert ids(run(notes, 'read the notes after 2022-03-01 whose title is "todo"')) == ["N2"]
    with pytest.raises(CompileError, match="needs the title"):
        notes.check('write a note saying "milk"\n')
    result = run(notes, 'the title is "shopping"\nwrite a note saying "milk".\n')
    assert notes.store.notes[-1].body == "milk" and result.value == "N5"


def test_a_preposition_the_procedure_does_not_take(notes):
    (_, column, message, hint), *_ = notes.problems('write a note to "x"\n')
    assert (column, message) == (14, "'write a Lark note' takes no 'to'")
    assert hint == "its prepositions are 'saying'"


def test_a_noun_without_its_proper_noun_and_a_synonym(notes):
    assert notes.check('write a note where\n  the title is "a"\n').steps[0].procedure.english == "write a Lark note"
    assert notes.check("read some jottings").steps[0].procedure.english == "read some notes"


def test_a_books_own_find_fails_as_it_says_and_read_finds_nothing_as_a_failure(notes):
    # `find` is nothing-found-is-nothing where it stands for read (see tests/procedures/test_english_wave2.py);
    # the Notes book has a `find` procedure of its own, which says what it does when it finds nothing
    with pytest.raises(NotFoundError, match="there is no note 'N9'"):
        run(notes, 'find a note where\n  the note id is "N9"\n')
    with pytest.raises(NotFoundError):
        run(notes, 'read a note whose id is "N9"')


def test_get_reads_a_list_no_fact_names(notes):
    assert ids(run(notes, 'get the notes whose stars is at least 3')) == ["N1", "N3"]
    assert ids(run(notes, "read some notes\nget the notes whose stars is 0\n")) == ["N4"]


# -- punctuation, numbers, stop and the result ----------------------------------------------------------------


def test_punctuation_and_numbers_in_words(notes):
    text = ('read the first three notes whose stars is at least one.\n'
            'the titles are \u201cgroceries\u201d, \u201ctodo\u201d, and \u201cideas\u201d.\n'
            "process each note in the notes as follows:\n"
            "  get the note's title.\n")
    result = run(notes, text)
    assert result.value == ["groceries", "todo", "Groceries for the party"]
    assert result.facts["titles"] == ["groceries", "todo", "ideas"]


def test_stop_ends_the_run_even_inside_a_loop(notes):
    text = (
        "the seen is 0\n"
        "read some notes\n"
        "process each note as follows\n"
        "  add 1 to the seen\n"
        "  if the note's stars is 1 then\n"
        "    stop\n"
        'say "never"\n'
    )
    said: list = []
    result = run(notes, text, said)
    assert result.facts["seen"] == 2 and said == []


def test_the_result_is_the_above_and_the_aboves_field(notes):
    result = run(notes, 'read a note whose id is "N2"\nget the above\'s body\nget the result\n')
    assert result.value == "call mom"
    assert run(notes, 'read a note whose id is "N1"\nget the result\'s title\n').value == "groceries"
    assert run(notes, 'read a note whose id is "N1"\nthe result is "mine"\nget the result\n').value == "mine"


def test_reads_other_verbs_are_read_only_where_no_procedure_takes_them(notes):
    assert notes.check("list some notes").steps[0].procedure.english == "read some notes"
    assert notes.check("show the memos").steps[0].procedure.english == "read some notes"
    # the Notes book has a `find` of its own: `find` is that one, not read
    assert notes.check('find a note where\n  the note id is "N1"\n').steps[0].procedure.english == "find a note"
    (_, _, message, _), *_ = notes.problems("find some notes")
    assert message == "'find a note' works on one note at a time"


def test_say_a_thing_prints_its_fields_in_english(notes, capsys):
    run(notes, 'read a note whose id is "N1"\nsay the above\nread some notes whose stars > 2\nsay the above\n')
    one, many = capsys.readouterr().out.splitlines()
    assert one.startswith("note: ") and "title groceries" in one and "body milk and eggs" in one
    assert "stars 3" in one and "written 2022-03-01T09:00:00+00:00" in one and "sid=" not in one
    assert many.count("note: ") == 2 and "; note: " in many and "title Groceries for the party" in many


def test_for_each_runs_as_process_each_and_show_me_reads(notes):
    said: list = []
    run(notes, "show me the notes whose stars > 2\nfor each note\n  say the note's title\n", said)
    assert said == ["groceries", "Groceries for the party"]


@pytest.mark.parametrize(("stars", "expected"), [(5, ["many", "some"]), (6, ["none", "no notes"])])
def test_an_if_on_one_line_and_there_are_no(notes, stars, expected):
    said: list = []
    run(notes, f"read some notes whose stars >= {stars}\n"
               'if there are no notes then say "none"\notherwise say "many"\n'
               'if there are some notes then say "some"\nelse say "no notes"\n', said)
    assert said == expected


def test_wait_goes_on_after_that_long(notes):
    import time

    said: list = []
    began = time.monotonic()
    run(notes, 'say "a"\nwait 1 second\nread some notes whose stars > 4\nsay the number of the above\n', said)
    assert time.monotonic() - began >= 1.0
    assert said == ["a", 1]


def test_a_stop_asked_during_a_wait_ends_the_run_there(notes):
    import threading
    import time

    said: list = []
    session = Session({notes.book.name: lambda: notes.store}, now=lambda: NOW, say=said.append)
    threading.Timer(0.3, session.stop.set).start()
    began = time.monotonic()
    Automation.compile('say "a"\nwait 1 hour\nsay "b"\n', notes.book.registry).run(session)
    assert time.monotonic() - began < 30 and said == ["a"]


@pytest.mark.parametrize(("text", "says"), [
    ("wait 2 weeks", "a wait of 2 weeks is longer than the longest wait, a week"),
    ("wait 1 month", "a wait of 1 month is longer than the longest wait, a week"),
    ("wait 0 seconds", "wait at least 1 second"),
])
def test_a_wait_too_long_or_of_nothing_is_refused_before_anything_runs(notes, text, says):
    with pytest.raises(CompileError) as caught:
        run(notes, f'write a note where\n  the title is "x"\n{text}\n')
    assert says in str(caught.value) and "line 3" not in str(caught.value) and ":3:1:" in caught.value.render()
    assert len(notes.store.notes) == 4  # nothing written


@pytest.mark.parametrize(("text", "expected"), [
    ("read the first note", "N1"), ("read the last note", "N4"), ("read the last note whose stars > 2", "N3"),
    ("read the first memo whose stars < 2", "N2"),
])
def test_the_first_and_the_last_thing_without_a_count_is_one(notes, text, expected):
    assert run(notes, text).value.id == expected


def test_the_first_and_the_last_things_without_a_count_is_a_list_of_one(notes):
    assert ids(run(notes, "read the last notes")) == ["N4"]
    assert ids(run(notes, "read the first notes whose stars > 0")) == ["N1"]


@pytest.mark.parametrize(("text", "expected"), [
    ("read the notes written yesterday", ["N3"]),
    ("read the notes written today", []),
    ("read the notes written this week", ["N1", "N2", "N3", "N4"]),
    ("read the notes written last week", []),
    ('read the notes written this month whose stars > 2', ["N1", "N3"]),
])
def test_a_day_or_a_span_of_days_after_the_noun_is_its_on(notes, text, expected):
    assert ids(run(notes, text)) == expected  # `written yesterday`: `written on yesterday`

"""English that parses but cannot run: every problem is found before anything runs, each with its line."""

from __future__ import annotations

import pytest

from book.errors import CompileError, LanguageError
from book.runtime import check


def test_an_unknown_procedure_suggests_the_nearest(notes):
    assert notes.problems("reed some notes") == [
        (1, 1, "I don't know how to 'reed notes'", "did you mean 'read some notes' or 'find a note'?"),
    ]


def test_an_unknown_procedure_with_nothing_near_says_how_to_list_them(notes):
    [(line, column, message, hint)] = notes.problems("launch some rockets")
    assert message == "I don't know how to 'launch rockets'"
    assert "notes procedures" in hint  # the book's own command


def test_an_unknown_field_names_the_fields(notes):
    [(line, column, message, hint)] = notes.problems('read some notes whose colour is "red"')
    assert (line, column, message) == (1, 23, "a note has no field 'colour'")
    assert hint == "its fields: id, title, body, stars, written"


def test_a_misspelt_field_gets_a_did_you_mean(notes):
    [(_, _, message, hint)] = notes.problems('read some notes whose titel is "a"')
    assert message == "a note has no field 'titel'"
    assert hint.startswith("did you mean 'title'?")
    assert "its fields: id, title, body, stars, written" in hint


def test_an_unknown_field_in_a_possessive(notes):
    [(line, column, message, hint)] = notes.problems("read a note whose id is \"N1\"\nget the note's titel")
    assert (line, column, message, hint) == (2, 16, "a note has no field 'titel'", "did you mean 'title'?")


def test_an_unknown_input_names_the_inputs(notes):
    [(line, column, message, hint)] = notes.problems('write a Lark note where\n  the colour is "red"\n  the title is "a"\n')
    assert (line, column, message) == (2, 7, "'write a Lark note' has no input 'colour'")
    assert hint == "its inputs are: title, body, stars"


def test_a_misspelt_input_gets_a_did_you_mean(notes):
    problems = notes.problems('write a Lark note where\n  the titel is "a"\n')
    assert problems[0][:3] == (2, 7, "'write a Lark note' has no input 'titel'")
    assert problems[0][3] == "did you mean 'title'?"


def test_a_missing_required_input(notes):
    assert notes.problems('write a Lark note where\n  the body is "milk"\n') == [
        (1, 1, "'write a Lark note' needs the title", "add a line 'the title is ...' under 'write a Lark note where'"),
    ]


def test_an_input_given_twice(notes):
    problems = notes.problems('write a Lark note where\n  the title is "a"\n  the title is "b"\n')
    assert problems == [(3, 7, "the title is given twice", "keep one of the two lines")]


@pytest.mark.parametrize(("text", "line", "column", "start"), [
    ('read some notes whose written is after "next tuesday"', 1, 40, '"next tuesday" is not a valid written'),
    ("read some notes whose written is after 2022", 1, 40, "2022 is not a valid written: expected a date and time, got the number"),
    ('write a Lark note where\n  the title is "a"\n  the stars is "many"\n', 3, 16, '"many" is not a valid stars'),
    ("write a Lark note where\n  the title is 42\n", 2, 16, "42 is not a valid title: expected text, got the number 42"),
    ("read some notes whose stars is 1.5", 1, 32, "1.5 is not a valid stars"),
    ("read some notes whose body is true", 1, 31, "True is not a valid body"),
    ('convert "soon" to a datetime', 1, 9, '"soon" is not a valid datetime'),
    ('convert "x" to a whole number', 1, 9, '"x" is not a valid whole number'),
])
def test_a_value_of_the_wrong_type(notes, text, line, column, start):
    [(got_line, got_column, message, hint)] = notes.problems(text)
    assert (got_line, got_column) == (line, column)
    assert message.startswith(start), message
    # the type in words, never `optional[...]`
    assert hint.endswith(("a whole number", "a number", "text", "a date and time")), hint
    assert "optional" not in hint and "[" not in hint


def test_text_that_reads_as_a_number_or_datetime_is_accepted(notes):
    plan = notes.check('read some notes whose stars is "3" and whose written is after "2022-03-01T15:00:00Z"')
    condition = plan.steps[0].filter.items
    assert condition[0].value.value == 3
    assert condition[1].value.value.isoformat() == "2022-03-01T15:00:00+00:00"


def test_an_ordering_on_a_field_without_order(notes):
    [(_, column, message, hint)] = notes.problems('read some notes whose title is after "a"')
    assert (column, message) == (23, "the title is text, which has no order")
    assert "contains" in hint


def test_an_unknown_conversion(notes):
    [(_, column, message, hint)] = notes.problems('convert "x" to a colour')
    assert (column, message) == (18, "I can't convert to 'colour'")
    assert hint.startswith("known types: datetime")


def test_a_fact_used_before_it_is_defined(notes):
    problems = notes.problems('read some notes whose title is the heading\nthe heading is "groceries"\n')
    # the caret points at the fact's name, after its article
    assert problems == [(1, 36, "'the heading' is not defined before this line", 'define it first, like: the heading is "..."')]


def test_an_undefined_fact_gets_a_did_you_mean_from_the_facts_there_are(notes):
    [(line, column, message, hint)] = notes.problems('the start date is 2022-03-01\nget the stat date\n')
    assert (line, column, message, hint) == (2, 9, "'the stat date' is not defined before this line", "did you mean 'start date'?")


def test_the_above_on_the_first_line(notes):
    assert notes.problems("use the above as the start date") == [
        (1, 9, "'the above' has nothing above it", "use it on a line after one that gives a result"),
    ]


def test_process_each_with_nothing_above(notes):
    [(line, _, message, _)] = notes.problems("process each note as follows\n  get the note\n")
    assert (line, message) == (1, "there is nothing above to process each note of")


def test_process_each_of_one_thing(notes):
    [(line, _, message, _)] = notes.problems('the x is "a"\nprocess each y as follows\n  get the y\n')
    assert (line, message) == (2, "there is only one text here, not a list to process each of")


def test_a_possessive_of_a_list_or_of_plain_text(notes):
    problems = notes.problems("read some notes\nget the notes's title\nthe x is \"a\"\nget the x's title\n")
    assert [(line, message) for line, _, message, _ in problems] == [
        (2, "'the notes' is a list: its items have fields, the list has none"),
        (4, "'the x' is text, which has no fields"),
    ]
    assert problems[0][3] == "read each one with: process each note in the notes as follows"


def test_a_filter_on_a_procedure_that_takes_none(notes):
    problems = notes.problems('write a Lark note whose title is "x"')
    assert [message for _, _, message, _ in problems] == [
        "'write a Lark note' takes no 'whose' filter",
        "'write a Lark note' needs the title",  # a filter is not an input
    ]


def test_many_of_a_procedure_that_works_on_one(notes):
    [(_, _, message, hint)] = notes.problems('write some Lark notes where\n  the title is "a"\n')
    assert message == "'write a Lark note' works on one Lark note at a time"
    assert "process each" in hint


def test_a_count_of_zero(notes):
    assert notes.problems("read the first 0 notes") == [(1, 1, "ask for at least one", "use a count of 1 or more")]


def test_check_reports_every_problem_at_once_each_with_its_line(notes):
    text = (
        "# a file with one mistake on most lines\n"
        'reed some notes whose title is "a"\n'             # 2: unknown procedure
        'read some notes whose colour is "red"\n'          # 3: unknown field
        "get the missing fact\n"                           # 4: undefined fact
        'write a Lark note where\n'                        # 5: missing required input (title) ...
        '  the colour is "red"\n'                          # 6: ... and an unknown input
        'read some notes whose stars is "many"\n'          # 7: wrong type
        'the start date is 2022-03-01\n'                   # 8: fine
        "read some notes whose written is after the start date\n"  # 9: fine
        "process each note as follows\n"                   # 10: fine
        "  get the note's colour\n"                        # 11: unknown field inside a block
        'convert "x" to a colour\n'                        # 12: unknown type
    )
    with pytest.raises(CompileError) as caught:
        check(text, notes.book.registry, "mistakes.auto")
    err = caught.value
    assert [p.line for p in err.problems] == [2, 3, 4, 6, 5, 7, 11, 12]
    assert all(p.source_line == text.splitlines()[p.line - 1] for p in err.problems)
    rendered = err.render()
    for line in (2, 3, 4, 5, 6, 7, 11, 12):
        assert f"mistakes.auto:{line}:" in rendered
    assert isinstance(err, LanguageError) and err.exit_code == 2


def test_a_line_with_a_problem_still_defines_its_result_so_later_lines_are_not_blamed(notes):
    problems = notes.problems('read some notes whose colour is "red"\nprocess each note as follows\n  get the note\'s title\n')
    assert [line for line, *_ in problems] == [1]


def test_nothing_runs_when_a_later_line_has_a_problem(notes):
    with pytest.raises(CompileError):
        notes.run('write a Lark note where\n  the title is "first"\nget the undefined\n')
    assert len(notes.store.notes) == 4  # the first line did not write a note


def test_the_source_line_of_a_compile_problem_is_found_as_the_parser_counts_lines(notes):
    with pytest.raises(CompileError) as caught:
        notes.check('the x is "a\u2028b"\r\nget the z\r\n')
    [problem] = caught.value.problems
    assert (problem.line, problem.source_line) == (2, "get the z")

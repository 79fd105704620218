"""After a syntax mistake the parser goes on from the next top-level statement and reports every mistake it
finds, in line order, each with its line, column, source line, caret and hint; never one that only the
skipping made, and at most `parser._MAX_PROBLEMS`."""

from __future__ import annotations

import pytest

from book.errors import EnglishSyntaxError, Problem
from grammar import parser
from grammar.parser import parse


def problems(text: str, filename: str | None = None) -> list[Problem]:
    with pytest.raises(EnglishSyntaxError) as caught:
        parse(text, filename)
    return caught.value.problems


def where(found: list[Problem]) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in found]


# -- every mistake, in order ------------------------------------------------------------------------


def test_mistakes_in_separate_statements_are_all_reported_in_order():
    text = (
        'the a is "1"\n'
        "read some notes whose title is\n"        # 2: a value is missing
        'get the a\n'
        'read notes whose title is "x"\n'         # 4: no quantity
        "# a comment\n"
        "\n"
        "the c is 'single'\n"                     # 7: single quotes
        'use the a as the b\n'
    )
    found = problems(text, "three.auto")
    assert where(found) == [
        (2, 31, "a value is missing here"),
        (4, 6, "a call needs a quantity before its noun"),
        (7, 10, "text must be in double quotes"),
    ]
    assert [p.source_line for p in found] == [
        "read some notes whose title is", 'read notes whose title is "x"', "the c is 'single'",
    ]
    assert all(p.hint for p in found)


def test_every_problem_renders_with_its_caret():
    text = "the x is 1 2\nthe y is 3 4\n"
    with pytest.raises(EnglishSyntaxError) as caught:
        parse(text, "two.auto")
    assert str(caught.value).splitlines() == [
        "two.auto:1:12: I did not expect a number here",
        "    the x is 1 2",
        "               ^",
        "  hint: expected the end of the line",
        "two.auto:2:12: I did not expect a number here",
        "    the y is 3 4",
        "               ^",
        "  hint: expected the end of the line",
    ]


def test_mistakes_on_consecutive_lines():
    found = problems("the x is\nthe y is\r\nget\n")
    assert where(found) == [
        (1, 9, "a value is missing here"),
        (2, 9, "a value is missing here"),
        (3, 4, "I did not expect the end of the line here"),
    ]
    assert found[1].source_line == "the y is"


def test_mistakes_the_transformer_finds_are_reported_with_the_others():
    found = problems("read -1 notes\nthe day is 2022-02-30\nthe n is 1 2\nthe t is 2022-02-30T10:00\n")
    assert where(found) == [
        (1, 6, "-1 is not a count of things"),
        (2, 12, "2022-02-30 is not a real date"),
        (3, 12, "I did not expect a number here"),
        (4, 10, "2022-02-30T10:00 is not a real date and time"),
    ]


def test_a_good_text_after_a_mistake_adds_nothing():
    text = 'the x is\nread some notes whose title is "a"\nprocess each n in the notes as follows\n  get the n\n'
    assert where(problems(text)) == [(1, 9, "a value is missing here")]


# -- blocks ---------------------------------------------------------------------------------------------


def test_a_mistake_inside_a_block_then_a_good_statement():
    text = (
        "process each n in the notes as follows\n"
        "  the y is\n"                              # 2: a value is missing
        "  get the n\n"                             # skipped with the rest of the block
        "      get the n\n"                         # an indentation no block has: skipped too
        'the z is "fine"\n'
    )
    assert where(problems(text)) == [(2, 11, "a value is missing here")]


def test_a_mistake_inside_a_block_then_a_bad_statement():
    text = (
        "process each n in the notes as follows\n"
        "  process each m in the notes as follows\n"
        "    read some notes whose\n"                # 3
        "    get the m\n"
        "  get the n\n"
        "the z is 'q'\n"                             # 6
    )
    assert where(problems(text)) == [
        (3, 26, "'whose' needs a field and a comparison after it"),
        (6, 10, "text must be in double quotes"),
    ]


def test_a_mistake_in_a_block_opener_skips_its_block():
    text = (
        'write a note where "x"\n'                   # 1
        '  the title is "a"\n'                       # the block of the broken line: no problem of its own
        '    the body is "b"\n'
        "the x is\n"                                 # 4
    )
    assert where(problems(text)) == [
        (1, 20, 'I did not expect quoted text like "Hello" here'),
        (4, 9, "a value is missing here"),
    ]


def test_indentation_mistakes_then_more():
    text = (
        "read some notes\n"
        '  the title is "a"\n'                       # 2: indented, but no block is open
        '  the body is "b"\n'
        "write a note where\n"
        '    the title is "a"\n'
        '  the body is "b"\n'                        # 6: matches no block
        "the x is\n"                                 # 7
    )
    assert where(problems(text)) == [
        (2, 3, "this line is indented, but nothing above it opens a block"),
        (6, 3, "this line's indentation matches no block above it"),
        (7, 9, "a value is missing here"),
    ]


# -- the last line ------------------------------------------------------------------------------------


def test_a_mistake_on_the_last_line():
    found = problems("the x is 'a'\nthe y is \"b\"\nread some notes whose title is")
    assert where(found) == [
        (1, 10, "text must be in double quotes"),
        (3, 31, "a value is missing here"),
    ]
    assert found[-1].source_line == "read some notes whose title is"


def test_a_mistake_on_the_last_line_alone():
    assert where(problems('the x is "a"\nthe y is "b"\nget\n')) == [
        (3, 4, "I did not expect the end of the line here"),
    ]


# -- the cap --------------------------------------------------------------------------------------------


def test_at_most_the_cap_of_problems():
    lines = [f"the fact n{i} is" for i in range(parser._MAX_PROBLEMS + 15)]
    found = problems("\n".join(lines) + "\n")
    assert len(found) == parser._MAX_PROBLEMS == 20
    assert [p.line for p in found] == list(range(1, 21))
    assert [p.source_line for p in found] == lines[:20]


# -- the first problem is the one a parse that stops there reports ------------------------------------


@pytest.mark.parametrize("text", [
    "read some notes whose\n",
    "read some notes whose title is\n",
    'read notes whose title is "a"\n',
    "read some notes whose title is 'a'\n",
    "read some notes whose sender is +18004445555\n",
    'read some notes whose title is "a" whose body is "b"\n',
    'the title is "never closed\n',
    "read 2.5 notes\n",
    "the day is 2022-02-30\n",
    "read the first -2 notes\n",
    "read some notes \u00e9\n",
    'read some notes\n  the title is "a"\n',
    'write a note where\n    the title is "a"\n  the body is "b"\n',
    "process each n in the notes as follows\n  get the n\n  read some notes whose\n",
])
def test_the_first_problem_is_unchanged_by_later_ones(text):
    alone = problems(text)
    assert len(alone) == 1
    later = 'the x is "1"\nthe y is 1 2\n'
    both = problems(text + later)
    assert both[0] == alone[0]
    assert where(both[1:]) == [(text.count("\n") + 2, 12, "I did not expect a number here")]


# -- no problem that only the skipping made ----------------------------------------------------------


def test_an_unindented_input_block_is_one_problem():
    # its lines, at the start of the line, would parse as statements (and fail): they are not reported
    text = 'write a note where\ntitle is "a"\nbody is "b"\nthe x is\n'
    assert where(problems(text)) == [(2, 1, "the lines of an input block must be indented")]


def test_a_broken_line_opening_a_block_with_an_unindented_block_is_one_problem():
    text = 'write a note whose day is 2022-02-30 where\ntitle is "a"\nbody is "b"\n'
    assert where(problems(text)) == [(1, 27, "2022-02-30 is not a real date")]


def test_a_skipped_block_opener_whose_block_is_not_indented_stops_the_search():
    text = "the x is 'a'\n  write a note where\ntitle is \"a\"\n"
    assert len(problems(text)) == 1


@pytest.mark.parametrize("rest", [
    '"a" and whose body is "b"\n',
    'and whose body is "b"\n',
    'whose body is "b"\n',
    'or whose body is "b"\n',
    "2, 3)\n",
    "'s title\n",
])
def test_a_line_that_goes_on_after_a_line_that_stopped_short_is_not_a_second_problem(rest):
    text = "read some notes whose title is\n" + rest + "the x is\n"
    assert where(problems(text)) == [(1, 31, "a value is missing here"), (3, 9, "a value is missing here")]


def test_lines_inside_brackets_are_not_statements():
    text = (
        "read some notes whose title is 'a' and whose stars is one of (1,\n"
        "2,\n"
        "3)\n"
        "the x is\n"
    )
    assert where(problems(text)) == [(1, 32, "text must be in double quotes"), (4, 9, "a value is missing here")]


def test_brackets_in_quoted_text_and_comments_do_not_count():
    text = "the x is 'a'  # (\nthe y is \"(\" 2\nthe z is\n"
    assert where(problems(text)) == [
        (1, 10, "text must be in double quotes"),
        (2, 14, "I did not expect a number here"),
        (3, 9, "a value is missing here"),
    ]


def test_an_unclosed_bracket_hides_the_rest():
    # the indenter would read every following line as part of the bracket: nothing after is certain
    text = "read some notes whose title is 'a' and whose stars is one of (1,\n2\nthe x is\nthe y is\n"
    assert len(problems(text)) == 1


def test_comments_and_blank_lines_at_the_start_of_the_line_do_not_start_a_statement():
    text = 'process each n in the notes as follows\n  get\n# note\n\n  get the n\nthe x is\n'
    assert where(problems(text)) == [
        (2, 6, "I did not expect the end of the line here"),
        (6, 9, "a value is missing here"),
    ]


def test_lines_and_columns_after_tabs_blank_lines_and_windows_line_ends_are_those_of_the_whole_text():
    text = (
        "the a is 1\r\n\r\n"
        "process each n in the notes as follows\r\n"
        "\tget\r\n"                                   # 4: a value is missing
        "\t\tget the n\r\n"
        "the x is 'a'\r\n"                             # 6
        "  \r\n"
        "\t# a comment\r\n"
        "the z is 1 2\r\n"                             # 9
    )
    found = problems(text)
    assert [(p.line, p.column) for p in found] == [(4, 5), (6, 10), (9, 12)]
    assert [p.source_line for p in found] == ["\tget", "the x is 'a'", "the z is 1 2"]


# -- any two mistakes, each reported as it is alone ------------------------------------------------

ONE_LINE_MISTAKES = [
    "read some notes whose",
    'read some notes whose title is "a" and whose',
    "read some notes whose title contains",
    "the start date is",
    'read notes whose title is "a"',
    "the x is 'a'",
    "the title is groceries",
    "read some notes whose sender is +18004445555",
    'read some notes whose title is "a" and body is "b"',
    'the title is "never closed',
    "read 2.5 notes",
    "the day is 2022-02-30",
    "read the first -2 notes",
    "read some notes whose stars is one of (1, 2",
    "read some notes \u00e9",
    "get",
]


@pytest.mark.parametrize("second", ONE_LINE_MISTAKES)
@pytest.mark.parametrize("first", [m for m in ONE_LINE_MISTAKES if "(" not in m])  # a bracket runs on
def test_any_two_mistakes_are_each_reported_as_they_are_alone(first, second):
    text = f'{first}\nthe x is "1"\n{second}\n'
    found = problems(text)
    alone = problems(f"{first}\n") + problems(f'the x is "1"\n\n{second}\n')
    assert found == alone


def test_problems_are_in_line_order_with_their_own_source_lines():
    mistakes = [m for m in ONE_LINE_MISTAKES if "(" not in m]  # an unclosed bracket hides what follows
    text = "".join(f"{mistake}\nget the x\n" for mistake in mistakes)
    found = problems(text)
    assert len(found) == len(mistakes) < parser._MAX_PROBLEMS
    assert [p.line for p in found] == sorted({p.line for p in found})
    lines = text.split("\n")
    assert all(p.source_line == lines[p.line - 1] for p in found)

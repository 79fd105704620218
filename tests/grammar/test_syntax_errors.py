"""A line that does not parse says where (line, column, the line and a caret), what, and what to do."""

from __future__ import annotations

import pytest

from book.errors import BookError, EnglishSyntaxError, LanguageError
from grammar import parser
from grammar.parser import parse


def error(text: str, filename: str | None = None) -> EnglishSyntaxError:
    with pytest.raises(EnglishSyntaxError) as caught:
        parse(text, filename)
    err = caught.value
    assert len(err.problems) == 1
    return err


def test_a_syntax_error_is_a_language_error_with_exit_code_2():
    err = error("read some notes whose\n")
    assert isinstance(err, LanguageError) and isinstance(err, BookError)
    assert err.exit_code == 2
    assert err.__cause__ is None and err.__suppress_context__  # no lark exception rides along


def test_it_carries_line_column_source_line_caret_and_hint():
    err = error('the x is "a"\nread some notes whose title is \'b\'\n', "notes.auto")
    problem = err.problems[0]
    assert (problem.line, problem.column) == (2, 32)
    assert problem.source_line == "read some notes whose title is 'b'"
    assert problem.hint
    rendered = str(err)
    assert rendered.splitlines() == [
        "notes.auto:2:32: text must be in double quotes",
        "    read some notes whose title is 'b'",
        "                                   ^",
        "  hint: write \"like this\", not 'like this'",
    ]


def test_the_caret_sits_under_the_column():
    err = error("read some notes whose title is\n")
    problem = err.problems[0]
    lines = problem.render().splitlines()
    assert lines[1] == "    " + problem.source_line
    assert lines[2].index("^") - 4 == problem.column - 1


def test_no_lark_name_or_internal_token_reaches_the_message():
    texts = [
        "read some notes whose title is\n",
        "read some notes whose stars is one of (1, 2\n",
        "read the first -2 notes\n",
        "get the a's b's c\n",
        "the x is 1 2\n",
        "use the above\n",
        "convert 5\n",
    ]
    for text in texts:
        message = str(error(text))
        for internal in ("Token(", "_NL", "_INDENT", "_DEDENT", "$END", "__", "RPAR", "LPAR", "COMMA", "lark"):
            assert internal not in message, (text, message)


# -- known mistakes get friendly messages --------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "column", "message", "hint_part"), [
    ("read some notes whose\n", 1, 22, "'whose' needs a field and a comparison after it", "whose sender number is"),
    ('read some notes whose title is "a" and whose\n', 1, 45, "'whose' needs a field and a comparison after it", "whose"),
    ("read some notes whose title is\n", 1, 31, "a value is missing here", "quoted text"),
    ("read some notes whose title contains\n", 1, 37, "a value is missing here", "quoted text"),
    ("the start date is\n", 1, 18, "a value is missing here", "the start date"),
    ('write a note where\nthe title is "a"\n', 2, 1, "the lines of an input block must be indented", "indent each line"),
    ("process each note as follows\nget the note\n", 2, 1, "the lines of an input block must be indented", "indent"),
    ("write a note where\n", 1, 19, "the lines of an input block must be indented", "indent"),
    ('read some notes\n  the title is "a"\n', 2, 3, "this line is indented, but nothing above it opens a block", "where"),
    ('the x is "1"\n    the y is "2"\n', 2, 5, "this line is indented, but nothing above it opens a block", "as follows"),
    ('read notes whose title is "a"\n', 1, 6, "a call needs a quantity before its noun", "the first 10"),
    ('send message where\n  the body is "x"\n', 1, 6, "a call needs a quantity before its noun", "some, a, an"),
    ("read some notes whose title is 'a'\n", 1, 32, "text must be in double quotes", '"like this"'),
    ("the x is 'a'\n", 1, 10, "text must be in double quotes", '"like this"'),
    ("the title is groceries\n", 1, 14, "text must be in double quotes", '"groceries"'),
    ("read some notes whose sender is +18004445555\n", 1, 33, "a phone number must be quoted text", '"+18004445555"'),
    ('read some notes whose title is "a" whose body is "b"\n', 1, 36, "filter clauses must be joined", "and whose"),
    ('read some notes whose title is "a" and body is "b"\n', 1, 40, "filter clauses must be joined", "or whose"),
    ('the title is "never closed\n', 1, 14, "this quoted text is not closed on its line", "double quote"),
    ("read -1 notes\n", 1, 6, "-1 is not a count of things", "whole number"),
    ("read 2.5 notes\n", 1, 6, "2.5 is not a count of things", "whole number"),
    ("the day is 2022-02-30\n", 1, 12, "2022-02-30 is not a real date", "2022-03-01"),
    ("the time is 2022-02-30T10:00\n", 1, 13, "2022-02-30T10:00 is not a real date and time", "2022-03-01T15:00:00Z"),
    ("the n is " + "9" * 5000 + "\n", 1, 10, "the number 999999999999... has too many digits", "shorter"),
    ("read the first -2 notes\n", 1, 16, "-2 is not a count of things", "whole number"),
    ("read some notes whose stars is one of (1, 2\n", 1, 43, "the automation ends in the middle of a line", "')' or ','"),
    ("read some notes \u00e9\n", 1, 17, "I don't understand the character '\u00e9' here", None),
])
def test_known_mistakes(text, line, column, message, hint_part):
    problem = error(text).problems[0]
    assert problem.message == message
    assert (problem.line, problem.column) == (line, column)
    if hint_part is not None:
        assert hint_part in problem.hint
    assert problem.source_line == text.splitlines()[line - 1]


def test_indentation_that_matches_no_block():
    text = 'write a note where\n    the title is "a"\n  the body is "b"\n'
    problem = error(text).problems[0]
    assert problem.message == "this line's indentation matches no block above it"
    assert (problem.line, problem.column) == (3, 3)
    assert problem.hint == "line it up with the lines of its block: at the start of the line"


def test_indentation_inside_a_nested_block_names_the_width_to_use():
    text = (
        "process each note in the notes as follows\n"
        "    process each other in the notes as follows\n"
        "        get the other\n"
        "      get the note\n"
    )
    problem = error(text).problems[0]
    assert (problem.line, problem.column) == (4, 7)
    assert problem.hint == "line it up with the lines of its block: with 4 spaces"


def test_a_tab_counts_as_four_spaces():
    assert parse('write a note where\n\tthe title is "a"\n    the body is "b"\n').statements[0].inputs[1].name.key == "body"


def test_an_error_on_a_later_line_names_that_line():
    text = 'the a is "1"\nthe b is "2"\n\n# comment\nthe c is\n'
    problem = error(text).problems[0]
    assert (problem.line, problem.source_line) == (5, "the c is")


def test_the_filename_is_kept():
    err = error("read some notes whose\n", "daily.auto")
    assert err.filename == "daily.auto"
    assert str(err).startswith("daily.auto:1:22: ")


def test_every_known_mistake_example_gives_its_own_message():
    for (message, hint), examples in parser._MISTAKES.items():
        for example in examples:
            problem = error(example).problems[0]
            assert problem.message == message, example
            assert problem.hint.startswith(hint), example  # an `if` line adds what an `if` line looks like


@pytest.mark.parametrize(("text", "line", "message"), [
    ('the x is "1"\nthe y is\n', 2, "a value is missing here"),
    ('the x is "1"\n# c\n\nread some notes whose\n', 4, "'whose' needs a field and a comparison after it"),
    ('the x is "1"\nread notes whose title is "a"\n', 2, "a call needs a quantity before its noun"),
    ('the x is "1"\nwrite a note where\nthe title is "a"\n', 3, "the lines of an input block must be indented"),
    ('the x is "1"\nthe y is "2"\n  the z is "3"\n', 3, "this line is indented, but nothing above it opens a block"),
    ("process each n in the notes as follows\n  the y is\n", 2, "a value is missing here"),
    ("process each n in the notes as follows\n  get the n\n  read some notes whose\n", 3,
     "'whose' needs a field and a comparison after it"),
    ('process each n in the notes as follows\n  read some notes whose a is "1" whose b is "2"\n', 2,
     "filter clauses must be joined"),
    ('write a note where\n  the title is "a"\n  the body is\n', 3, "a value is missing here"),
])
def test_known_mistakes_are_known_on_any_line_and_inside_blocks(text, line, message):
    problem = error(text).problems[0]
    assert (problem.line, problem.message) == (line, message)


@pytest.mark.parametrize("odd", ["\u2028", "\x1c", "\x85"])
def test_the_source_line_is_found_as_the_parser_counts_lines(odd):
    # str.splitlines() also breaks at these; the parser does not, so neither may the source line
    problem = error(f'the x is "a{odd}b"\nthe y is\n').problems[0]
    assert (problem.line, problem.source_line) == (2, "the y is")


def test_a_form_feed_is_blank_space_not_a_line_break():
    problem = error("the x is 1 \f\nthe y is\n").problems[0]
    assert (problem.line, problem.source_line) == (2, "the y is")


# -- the wave-2 forms: their mistakes, and hints that used to mislead ------------------------------------


@pytest.mark.parametrize(("text", "column", "message", "hint_part"), [
    ("read some notes whose stars greater than 3\n", 42, "a comparison is missing or not one I know",
     "put 'is' before 'greater'"),
    ("read some notes whose stars is bigger 3\n", 39, "'greater' and 'less' need 'than'", "is greater than 3"),
    ("read some notes whose stars is above 3\n", 32, "'above' does not compare here", "is greater than"),
    ("read some notes whose stars is over 3\n", 32, "'over' does not compare here", "is at least"),
    ("read some notes whose stars is between 1 5\n", 42, "'between' needs two values joined by 'and'",
     "is between 1 and 5"),
    ("read some notes whose written is in the last 7\n", 47, "'in the last' needs a span of time", "7 days"),
    ("the x is 2 +\n", 13, "a value is missing here", "quoted text"),
    ("say\n", 4, "a value is missing here", "quoted text"),
    ("sort the notes\n", 15, "say what to sort by", "sort the messages by date sent"),
    ("add 1\n", 6, "say what to add it to", "add 1 to the counter"),
    ("subtract 1\n", 11, "say what to subtract it from", "subtract 1 from the counter"),
    ("if the x is 1 then\nsay 1\n", 1, "the steps of an 'if' must be indented under it", "indent each step"),
    ("if\n", 3, "an 'if' needs a condition", "if the message's body contains"),
    ("if the x then\n  stop\n", 10, "this condition has no comparison", "is empty, exists"),
    ("otherwise\n  stop\n", 10, "'otherwise' must come right after the steps of an 'if', at the 'if' line's indentation",
     "under the if block"),
    ("for each\n  stop\n", 9, "a loop needs the name of each item", "for each message (in the messages)"),
    ("if there are no\n  stop\n", 16, "'there are' needs what there is (or is none of)", "if there are no messages"),
    ("if there are\n  stop\n", 13, "'there are' needs what there is (or is none of)", "if there are no messages"),
])
def test_each_new_form_has_a_known_mistake_message(text, column, message, hint_part):
    problem = error(text).problems[0]
    assert (problem.message, problem.column) == (message, column)
    assert hint_part in problem.hint


def test_a_sum_is_not_taken_for_a_phone_number():
    assert parse("the x is 2 + 3\n").statements[0].value.op == "+"
    problem = error("read some notes whose stars is 2 +\n").problems[0]
    assert problem.message == "a value is missing here"  # not "a phone number must be quoted text"
    assert error("the to is +18004445555\n").problems[0].message == "a phone number must be quoted text"


def test_an_if_line_that_does_not_parse_says_what_an_if_line_looks_like():
    problem = error("if the x is 1 or\n  stop\n").problems[0]
    assert problem.message == "in this 'if' line, I did not expect the end of the line here"
    assert problem.hint.endswith("an if line reads: if <condition> then, with its steps indented under it, like: "
                                 "if the message's body contains \"STOP\" then; or with one step after then: "
                                 "if ... then say \"...\" (a loop or a call with a block goes on the lines under it)")
    problem = error('the x is 1\nif the x is 1 then process each y in the x\n  stop\n').problems[0]
    assert problem.line == 2 and "a loop or a call with a block goes on the lines under it" in problem.hint
    problem = error("process each x in the xs\n  if the x's y is \"a\" \"b\" then\n    stop\n").problems[0]
    assert problem.line == 2 and "an if line reads" in problem.hint

"""Every English form of an automation parses to the typed nodes it means."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from lark import Lark

from grammar import ast, parser
from grammar.parser import parse
from tests.grammar.shapes import shape


def one(text: str):
    statements = parse(text).statements
    assert len(statements) == 1, statements
    return shape(statements[0])


def filter_of(text: str):
    call = parse(text).statements[0]
    assert isinstance(call, ast.Call)
    return shape(call.filter)


# -- the grammar itself ----------------------------------------------------------------------------


def test_the_automation_grammar_builds_strict():
    """strict=True turns a shift/reduce conflict or a terminal collision (found by interegular) into an error."""
    Lark.open(parser.GRAMMAR_FILE, rel_to=parser.__file__, parser="lalr", lexer="contextual",
              postlex=parser._BookIndenter(), strict=True)


def test_the_signature_grammar_builds_strict():
    import grammar.signature

    Lark.open("signature.lark", rel_to=grammar.signature.__file__, parser="lalr", strict=True)


def test_the_grammar_is_loaded_beside_the_module_not_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert one('the x is "y"') == ("assign", "x", "y")


# -- calls -----------------------------------------------------------------------------------------


def test_a_call_is_verb_quantity_noun():
    assert one("read some notes") == ("call", "read", "some", "notes", None, ())


@pytest.mark.parametrize(("quantity", "expected"), [
    ("some", "some"),
    ("a", "one"),
    ("an", "one"),
    ("all", "every"),
    ("the", "the"),
    ("the first 10", ("first", 10)),
    ("10", ("count", 10)),
])
def test_quantities(quantity, expected):
    assert one(f"read {quantity} notes")[2] == expected


def test_an_is_singular_and_some_is_not():
    assert parse("read an old note").statements[0].quantity.singular
    assert not parse("read some old notes").statements[0].quantity.singular


def test_a_noun_of_several_words_keeps_them_all():
    assert one("send an SMS message")[1:4] == ("send", "one", "sms message")


@pytest.mark.parametrize("keyword", ["where", "with", "WHERE", "With"])
def test_an_input_block_after_where_or_with(keyword):
    text = f'write a Lark note {keyword}\n  the title is "groceries"\n  the stars are 3\n'
    assert one(text) == ("call", "write", "one", "lark note", None, (("title", "groceries"), ("stars", 3)))


def test_an_input_line_may_leave_out_the_article():
    assert one('write a note where\n  title is "x"\n')[5] == (("title", "x"),)


def test_an_input_block_after_a_filter():
    text = 'send some notes whose title is "a" where\n\tthe body is "b"\n'
    assert one(text) == ("call", "send", "some", "notes", ("title", "eq", "a"), (("body", "b"),))


def test_input_values_can_be_facts_possessives_and_the_above():
    text = "write a note where\n  the title is the heading\n  the body is the note's body\n  the stars is the above\n"
    assert one(text)[5] == (("title", ("fact", "heading")), ("body", ("of", "note", "body")), ("stars", ("above",)))


# -- filters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("english", "op", "value"), [
    ('is "a"', "eq", "a"),
    ('are "a"', "eq", "a"),
    ('is not "a"', "ne", "a"),
    ('contains "a"', "contains", "a"),
    ('does not contain "a"', "not_contains", "a"),
    ('starts with "a"', "starts_with", "a"),
    ('ends with "a"', "ends_with", "a"),
    ("is after 2022-03-01", "gt", date(2022, 3, 1)),
    ("is before 2022-03-01", "lt", date(2022, 3, 1)),
    ("is at least 3", "ge", 3),
    ("is at most 3", "le", 3),
    ('is one of ("a", "b", "c")', "one_of", ("a", "b", "c")),
    ("is one of (1)", "one_of", (1,)),
])
def test_every_filter_operator(english, op, value):
    assert filter_of(f"read some notes whose title {english}") == ("title", op, value)


def test_one_of_may_span_lines_inside_its_parentheses():
    assert filter_of('read some notes whose stars is one of (1,\n   2,\n3)\n') == ("stars", "one_of", (1, 2, 3))


def test_a_field_of_several_words():
    assert filter_of("read some messages whose date sent is after 2022-03-01")[0] == "date sent"


def test_and_whose_joins_clauses():
    assert filter_of('read some notes whose title is "a" and whose body is "b" and whose stars is 1') == (
        "and", ("title", "eq", "a"), ("body", "eq", "b"), ("stars", "eq", 1))


def test_or_whose_joins_clauses():
    assert filter_of('read some notes whose title is "a" or whose title is "b"') == (
        "or", ("title", "eq", "a"), ("title", "eq", "b"))


@pytest.mark.parametrize(("text", "expected"), [
    ('whose title is "a" or whose body is "b" and whose stars is 1',
     ("or", ("title", "eq", "a"), ("and", ("body", "eq", "b"), ("stars", "eq", 1)))),
    ('whose title is "a" and whose body is "b" or whose stars is 1',
     ("or", ("and", ("title", "eq", "a"), ("body", "eq", "b")), ("stars", "eq", 1))),
    ('whose title is "a" and whose body is "b" or whose stars is 1 and whose id is "x"',
     ("or", ("and", ("title", "eq", "a"), ("body", "eq", "b")), ("and", ("stars", "eq", 1), ("id", "eq", "x")))),
])
def test_and_binds_tighter_than_or(text, expected):
    assert filter_of(f"read some notes {text}") == expected


def test_not_applies_to_one_clause():
    assert filter_of('read some notes not whose title is "a"') == ("not", ("title", "eq", "a"))
    assert filter_of('read some notes whose stars is 1 and not whose title is "a" or whose id is "x"') == (
        "or", ("and", ("stars", "eq", 1), ("not", ("title", "eq", "a"))), ("id", "eq", "x"))


def test_filter_values_can_be_facts_and_possessives():
    assert filter_of("read some notes whose written is after the start date and whose title is the note's title") == (
        "and", ("written", "gt", ("fact", "start date")), ("title", "eq", ("of", "note", "title")))


def test_the_issue_example():
    text = "read some SMS messages whose date sent is after the start date and whose date sent is before the end date"
    assert one(text) == ("call", "read", "some", "sms messages",
                         ("and", ("date sent", "gt", ("fact", "start date")), ("date sent", "lt", ("fact", "end date"))), ())


def test_limits_with_filters():
    assert one('read the first 10 notes whose title is "a"') == (
        "call", "read", ("first", 10), "notes", ("title", "eq", "a"), ())
    assert one('read 3 notes whose title is "a"')[2] == ("count", 3)


# -- values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "value"), [
    ('"hello"', "hello"),
    ('""', ""),
    ('"say \\"hi\\""', 'say "hi"'),
    ('"a\\\\b"', "a\\b"),
    ('"line\\nbreak\\ttab"', "line\nbreak\ttab"),
    ("\u201ccurly \"quotes\"\u201d", 'curly "quotes"'),
    ('"#not a comment"', "#not a comment"),
    ('"whose is where"', "whose is where"),
    ("42", 42),
    ("-7", -7),
    ("3.25", 3.25),
    ("2022-03-01", date(2022, 3, 1)),
    ("2022-03-01T15:00:00Z", datetime(2022, 3, 1, 15, tzinfo=timezone.utc)),
    ("2022-03-01t15:00z", datetime(2022, 3, 1, 15, tzinfo=timezone.utc)),
    ("2022-03-01 15:00", datetime(2022, 3, 1, 15)),
    ("2022-03-01T15:00:00.5+02:00", datetime(2022, 3, 1, 15, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2)))),
    ("2022-03-01T15:00:00-0500", datetime(2022, 3, 1, 15, tzinfo=timezone(timedelta(hours=-5)))),
    ("true", True),
    ("TRUE", True),
    ("yes", True),
    ("false", False),
    ("no", False),
])
def test_literal_values(written, value):
    statement = one(f"the x is {written}")
    assert statement == ("assign", "x", value)
    assert type(statement[2]) is type(value)


def test_the_above_a_fact_and_a_possessive():
    assert one("get the above") == ("get", ("above",))
    assert one("get the start date") == ("get", ("fact", "start date"))
    assert one("get the message's date sent") == ("get", ("of", "message", "date sent"))
    assert one("get the message\u2019s sid") == ("get", ("of", "message", "sid"))


def test_a_possessive_s_must_end_its_word():
    # `the message'sx` is not a possessive; the parser must not split it into `'s` and `x`.
    with pytest.raises(Exception) as caught:
        parse("get the message'sx")
    assert type(caught.value).__name__ == "EnglishSyntaxError"


# -- statements ------------------------------------------------------------------------------------


def test_assignment_keeps_the_name_as_written_and_its_key():
    statement = parse("the Start  Date is 2022-03-01").statements[0]
    assert isinstance(statement, ast.Assign)
    assert statement.name.text == "Start Date"
    assert statement.name.key == "start date"


@pytest.mark.parametrize(("text", "expected"), [
    ('convert "2022-03-01T15:00:00Z" to a datetime', ("convert", "2022-03-01T15:00:00Z", "datetime")),
    ("convert 2022-03-01 to a date", ("convert", date(2022, 3, 1), "date")),
    ('convert "5" to an integer', ("convert", "5", "integer")),
    ("convert the above to number", ("convert", ("above",), "number")),
    ("convert the note's stars to a whole number", ("convert", ("of", "note", "stars"), "whole number")),
])
def test_convert(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("use the above as the start date", ("use", ("above",), "start date")),
    ("use the above as start date", ("use", ("above",), "start date")),
    ('use "x" as the title', ("use", "x", "title")),
    ("use the note's title as the heading", ("use", ("of", "note", "title"), "heading")),
])
def test_use_as(text, expected):
    assert one(text) == expected


def test_get():
    assert one("get the message's sid") == ("get", ("of", "message", "sid"))
    assert one('get "x"') == ("get", "x")


def test_process_each_as_follows():
    text = "process each note as follows\n  get the note's title\n  use the above as the heading\n"
    assert one(text) == ("each", "note", None, (("get", ("of", "note", "title")), ("use", ("above",), "heading")))


def test_process_each_in_a_value():
    text = "process each note in the notes as follows\n    get the note\n"
    assert one(text) == ("each", "note", ("fact", "notes"), (("get", ("fact", "note")),))


def test_process_each_nests():
    text = (
        "process each note in the notes as follows\n"
        "  process each other in the notes as follows\n"
        "    get the other's title\n"
        "  get the note's title\n"
        "get the above\n"
    )
    statements = shape(parse(text).statements)
    assert statements == (
        ("each", "note", ("fact", "notes"), (
            ("each", "other", ("fact", "notes"), (("get", ("of", "other", "title")),)),
            ("get", ("of", "note", "title")),
        )),
        ("get", ("above",)),
    )


def test_a_block_may_hold_calls_with_their_own_input_blocks():
    text = (
        "process each note as follows\n"
        "  write a note where\n"
        "    the title is the note's title\n"
        "  get the above\n"
    )
    assert one(text) == ("each", "note", None, (
        ("call", "write", "one", "note", None, (("title", ("of", "note", "title")),)),
        ("get", ("above",)),
    ))


# -- comments, blank lines, line ends, case ----------------------------------------------------------


def test_comments_and_blank_lines_are_ignored():
    text = (
        "# a heading comment\n"
        "\n"
        'the x is "a"   # after a statement\n'
        "   # an indented comment\n"
        "\n\n"
        "process each note in the notes as follows  # opens a block\n"
        "  # inside the block\n"
        "  get the note\n"
        "# the end\n"
    )
    assert shape(parse(text).statements) == (
        ("assign", "x", "a"),
        ("each", "note", ("fact", "notes"), (("get", ("fact", "note")),)),
    )


@pytest.mark.parametrize("text", ["", "\n", "# only a comment", "   \n\n  # c\n"])
def test_an_empty_automation_has_no_statements(text):
    assert parse(text).statements == ()


def test_windows_line_ends():
    assert shape(parse('the x is "a"\r\nget the x\r\n').statements) == (("assign", "x", "a"), ("get", ("fact", "x")))


def test_the_last_line_needs_no_line_break():
    assert one('write a note where\n  the title is "a"') == ("call", "write", "one", "note", None, (("title", "a"),))


def test_keywords_are_case_insensitive():
    assert one('READ SOME notes WHOSE TITLE IS "a" AND WHOSE Stars Is At Least 2') == (
        "call", "read", "some", "notes", ("and", ("title", "eq", "a"), ("stars", "ge", 2)), ())
    assert one("PROCESS EACH Note IN THE notes AS FOLLOWS\n  GET THE ABOVE\n") == (
        "each", "note", ("fact", "notes"), (("get", ("above",)),))
    assert one("Convert 5 To A Text") == ("convert", 5, "text")


def test_keywords_are_words_where_no_keyword_can_stand():
    # the contextual lexer reads a keyword as a plain word where the keyword cannot stand
    assert one("the first is 1") == ("assign", "first", 1)
    assert one("the start isotope is 1") == ("assign", "start isotope", 1)
    assert one('read some notes whose number of stars is 1')[4] == ("number of stars", "eq", 1)


# -- positions --------------------------------------------------------------------------------------


def test_nodes_know_their_line_and_column():
    program = parse('# c\nthe x is "a"\nread some notes whose title is the x\n')
    assign, call = program.statements
    assert assign.pos == ast.Pos(2, 5)
    assert call.pos == ast.Pos(3, 1)
    assert call.noun.pos == ast.Pos(3, 11)
    assert call.filter.field.pos == ast.Pos(3, 23)
    assert call.filter.value.pos == ast.Pos(3, 36)
    assert program.source.startswith("# c\n")


def test_parsing_is_safe_from_several_threads():
    texts = [f'read some notes whose stars is {i}\nprocess each note as follows\n  get the note\n' for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: shape(parse(t).statements), texts))
    assert [r[0][4] for r in results] == [("stars", "eq", i) for i in range(40)]

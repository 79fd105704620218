"""The wave-2 English (issue 11) parses to the typed nodes it means: conditionals, comparisons in words and
symbols, arithmetic, text, lists, dates, prepositions, punctuation and numbers in words."""

from __future__ import annotations

from datetime import date

import pytest

from grammar.parser import parse
from tests.grammar.shapes import shape


def one(text: str):
    statements = parse(text).statements
    assert len(statements) == 1, statements
    return shape(statements[0])


def value(text: str):
    return one(f"the x is {text}")[2]


def clause(text: str):
    return one(f"read some notes whose {text}")[4]


def test_if_then_otherwise_if_otherwise():
    text = ('if the x is 1 then\n  say "one"\notherwise if the x > 1\n  stop\nelse\n  say "less"\n')
    assert one(text) == ("if", (
        (("test", ("fact", "x"), "eq", 1), (("say", "one"),)),
        (("test", ("fact", "x"), "gt", 1), (("stop",),)),
    ), (("say", "less"),))


def test_conditions_nest_and_join_with_and_or_not():
    text = ('process each note in the notes as follows\n'
            '  if not the note\'s body is empty and the note exists, or the note\'s id contains "N" then\n'
            '    if the note does not exist\n      stop\n')
    [(condition, body)] = one(text)[3][0][1]
    assert condition == ("or", ("and", ("not", ("test", ("of", "note", "body"), "empty", None)),
                                ("exists", ("fact", "note"), True)),
                         ("test", ("of", "note", "id"), "contains", "N"))
    assert body == (("if", ((("exists", ("fact", "note"), False), (("stop",),)),), ()),)


@pytest.mark.parametrize(("words", "op", "operand"), [
    ("is greater than 3", "gt", 3), ("is more than 3", "gt", 3), ("is less than 3", "lt", 3),
    ("is fewer than 3", "lt", 3), ("is equal to 3", "eq", 3), ("is not equal to 3", "ne", 3),
    ("is between 1 and 3", "between", (1, 3)), ("is between 1, and 3", "between", (1, 3)),
    ("is on or after 2022-03-01", "ge", date(2022, 3, 1)), ("is on or before 2022-03-01", "le", date(2022, 3, 1)),
    ("> 3", "gt", 3), ("< 3", "lt", 3), (">= 3", "ge", 3), ("<= 3", "le", 3), ("= 3", "eq", 3), ("== 3", "eq", 3),
    ("!= 3", "ne", 3), ("isn't 3", "ne", 3), ("isn\u2019t 3", "ne", 3), ('doesn\'t contain "a"', "not_contains", "a"),
    ("is empty", "empty", None), ("is not empty", "not_empty", None), ("isn't empty", "not_empty", None),
    ("is in the last 7 days", "ge", ("ago", 7, "day")), ("is in the last week", "ge", ("ago", 1, "week")),
    ("is last week", "eq", ("period", "last", "week")), ("is this month", "eq", ("period", "this", "month")),
    ("is after yesterday", "gt", ("moment", "yesterday")), ("is before 3 days ago", "lt", ("ago", 3, "day")),
    ("is at least three", "ge", 3),
])
def test_comparisons_in_words_and_symbols_read_the_same_in_filters_and_conditions(words, op, operand):
    assert clause(f"stars {words}") == ("stars", op, operand)
    assert one(f"if the note's stars {words} then\n  stop\n")[1][0][0] == ("test", ("of", "note", "stars"), op, operand)


@pytest.mark.parametrize(("text", "expected"), [
    ("2 + 3 * 4", ("+", 2, ("*", 3, 4))),
    ("(2 + 3) * 4", ("*", ("+", 2, 3), 4)),
    ("10 - 4 / 2", ("-", 10, ("/", 4, 2))),
    ("5-3", ("-", 5, 3)),
    ("-5", -5),
    ("the start date + 3 days", ("+", ("fact", "start date"), ("span", 3, "day"))),
    ("today - 1 week", ("-", ("moment", "today"), ("span", 1, "week"))),
    ('"Hi " + the message\'s sender number', ("+", "Hi ", ("of", "message", "sender number"))),
    ('"Hello {the customer\'s name}!"', ("template", "Hello ", ("{}", ("of", "customer", "name")), "!")),
    ('"{the a}{ the b }, {\\"c\\"} {how many notes}"', ("template", ("{}", ("fact", "a")), ("{}", ("fact", "b")),
                                                        ', {"c"} ', ("{}", ("count of", ("fact", "notes"))))),
    ('"{\\"a\\": 1} {AccountSid}"', '{"a": 1} {AccountSid}'),
    ('\u201cSay "Hi" {the customer\'s name}, it\u2019s {the day}\u201d',
     ("template", 'Say "Hi" ', ("{}", ("of", "customer", "name")), ", it\u2019s ", ("{}", ("fact", "day")))),
    ('\u201cno {placeholder}\u201d', "no {placeholder}"),
    ('"a", "b" and "c"', ("list", "a", "b", "c")),
    ('"a", "b", and "c"', ("list", "a", "b", "c")),
    ("1, 2", ("list", 1, 2)),
    ("the number of messages", ("count of", ("fact", "messages"))),
    ("how many messages", ("count of", ("fact", "messages"))),
    ("the first message of the above", ("pick", "first", None, "message", ("above",))),
    ("the last 2 messages", ("pick", "last", 2, "messages", None)),
    ("the first three notes", ("pick", "first", 3, "notes", None)),
    ("the above's body", ("above's", "body")),
    ("now", ("moment", "now")), ("today", ("moment", "today")), ("yesterday", ("moment", "yesterday")),
    ("3 days ago", ("ago", 3, "day")),
    ("last week", ("period", "last", "week")), ("this month", ("period", "this", "month")),
    ('"December 3, 2026"', "December 3, 2026"), ("12/03/2026", "12/03/2026"),
    ("twenty", 20), ("ninety", 90), ("zero", 0), ("seventeen", 17),
    ("\u201ccurly\u201d", "curly"), ("\u2018single curly\u2019", "single curly"),
])
def test_values(text, expected):
    assert value(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('say "hello"', ("say", "hello")),
    ("stop", ("stop",)),
    ("STOP.", ("stop",)),
    ("add 1 to the counter", ("change", "+", 1, "counter")),
    ("subtract the cost from the total", ("change", "-", ("fact", "cost"), "total")),
    ("sort the messages by date sent", ("sort", ("fact", "messages"), "date sent", False)),
    ("sort the messages by date sent descending", ("sort", ("fact", "messages"), "date sent", True)),
    ("count the messages", ("call", "count", "the", "messages", None, ())),
    ("get the above's body", ("get", ("above's", "body"))),
    ("get the result", ("get", ("fact", "result"))),
    ('get the messages whose body contains "x"', ("get", ("fact", "messages"), (), ("body", "contains", "x"))),
    ("get some messages", ("call", "get", "some", "messages", None, ())),
    ("read the last 2 messages", ("call", "read", ("last", 2), "messages", None, ())),
    ("read the first three notes", ("call", "read", ("first", 3), "notes", None, ())),
    ("read twelve notes", ("call", "read", ("count", 12), "notes", None, ())),
])
def test_statements(text, expected):
    assert one(text) == expected


def test_one_line_calls_with_prepositions():
    assert one('send an SMS to "+15550001" from "+15550002" saying "Hi"') == (
        "call", "send", "one", "sms", None, (), (("to", "+15550001"), ("from", "+15550002"), ("saying", "Hi")))
    assert one('read the messages sent to "+15550001" after yesterday') == (
        "call", "read", "the", "messages sent", None, (), (("to", "+15550001"), ("after", ("moment", "yesterday"))))
    assert one('read the messages from the number whose body contains "x"')[4:] == (
        ("body", "contains", "x"), (), (("from", ("fact", "number")),))
    assert one('make a call to "+1555" where\n  the twiml is "<Response/>"\n')[5:] == (
        (("twiml", "<Response/>"),), (("to", "+1555"),))


def test_a_line_may_end_with_a_period_or_a_colon():
    assert shape(parse("read some notes.\nprocess each note in the notes as follows:\n  get the note.  # c\n").statements) == (
        ("call", "read", "some", "notes", None, ()),
        ("each", "note", ("fact", "notes"), (("get", ("fact", "note")),)),
    )
    assert value("3.") == 3 and value("3.5.") == 3.5


def test_as_follows_may_be_left_out_of_a_loop():
    assert one("process each recipient in the recipients\n  say the recipient\n") == (
        "each", "recipient", ("fact", "recipients"), (("say", ("fact", "recipient")),))


def test_keywords_stay_free_in_the_places_they_cannot_stand():
    # a whose clause's field takes the words that follow a value elsewhere
    assert clause("answered by is \"machine\"") == ("answered by", "eq", "machine")
    assert clause("forwarded from is \"+1555\"") == ("forwarded from", "eq", "+1555")
    assert clause("finished on key is \"#\"") == ("finished on key", "eq", "#")
    assert clause("number of stars is 1") == ("number of stars", "eq", 1)
    assert one("the first day is 2022-03-01") == ("assign", "first day", date(2022, 3, 1))
    assert one("the count is 1") == ("assign", "count", 1)
    assert one('read some notes or memos whose x is "1"')[3] == "notes or memos"
    assert one("the time to go is 1") == ("assign", "time to go", 1)


def test_new_keywords_are_case_insensitive():
    assert one("IF the x IS GREATER THAN 1 THEN\n  SAY \"a\"\nOTHERWISE\n  STOP\n") == (
        "if", ((("test", ("fact", "x"), "gt", 1), (("say", "a"),)),), (("stop",),))
    assert value("3 DAYS AGO") == ("ago", 3, "day") and value("Twenty") == 20


@pytest.mark.parametrize("text", ["how many messages", "how many messages are there", "how many messages there are",
                                  "how many messages there is", "the number of messages", "the number of the messages"])
def test_how_many_as_a_question(text):
    assert value(text) == ("count of", ("fact", "messages"))


def test_the_number_of_the_above():
    assert value("the number of the above") == ("count of", ("above",))
    assert one('if how many messages are there > 2 then\n  stop\n')[1][0][0] == (
        "test", ("count of", ("fact", "messages")), "gt", 2)


@pytest.mark.parametrize(("text", "same_as"), [
    ("for each note\n  stop\n", "process each note\n  stop\n"),
    ("for each title in the titles as follows\n  say the title\n", "process each title in the titles\n  say the title\n"),
    ("show me the last 3 notes\n", "show the last 3 notes\n"),
    ("get me the notes\n", "get the notes\n"),
    ("get me some notes whose stars > 2\n", "get some notes whose stars > 2\n"),
])
def test_for_each_and_a_me_after_the_verb(text, same_as):
    assert one(text) == one(same_as)


def test_for_and_me_stay_words_elsewhere():
    assert one("the formula is 2\n") == ("assign", "formula", 2)
    assert one("read some memes\n") == ("call", "read", "some", "memes", None, ())
    assert one("for each format in the formats\n  stop\n") == one("process each format in the formats\n  stop\n")
    assert one("forward some memos\n") == ("call", "forward", "some", "memos", None, ())


def test_an_if_on_one_line_and_its_otherwise():
    assert one('if the x is 1 then say "one"\notherwise if the x is 2 then stop\notherwise say "other"\n') == one(
        'if the x is 1 then\n  say "one"\notherwise if the x is 2 then\n  stop\notherwise\n  say "other"\n')
    assert one('if the x is 1 then add 1 to the y\n') == one('if the x is 1\n  add 1 to the y\n')


def test_there_are_no_and_there_are_some():
    assert one('if there are no notes then\n  stop\n') == one('if the notes is empty then\n  stop\n')
    assert one('if there are some notes then\n  stop\n') == one('if the notes is not empty then\n  stop\n')
    assert one('if there are notes then\n  stop\n') == one('if the notes is not empty then\n  stop\n')
    assert one('if there is any note then\n  stop\n') == one('if the note is not empty then\n  stop\n')


def test_within_the_last():
    assert clause("written is within the last 7 days") == clause("written is in the last 7 days")


@pytest.mark.parametrize(("text", "count", "unit"), [("wait 5 seconds", 5, "second"), ("wait for a minute", 1, "minute"),
                                                    ("wait two hours", 2, "hour"), ("Wait for 1 day.", 1, "day")])
def test_wait(text, count, unit):
    assert one(text + "\n") == ("wait", count, unit)


def test_wait_is_a_word_where_no_length_of_time_follows():
    assert one("wait some notes\n") == ("call", "wait", "some", "notes", None, ())
    assert one("the wait is 3\n") == ("assign", "wait", 3)
    assert one('if the x is 1 then wait 2 seconds\n')[1][0][1] == (("wait", 2, "second"),)

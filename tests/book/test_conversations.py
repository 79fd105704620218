"""Conversations in the English, on the Notes book: a call's `as follows` block and `answer each chat as follows`,
run once per turn; `say` replies, `hang up` ends; and the mistakes, each with its line, column and hint."""

from __future__ import annotations

import pytest

from book.errors import BookError, EnglishSyntaxError
from book.interpreter import Interpreter
from book.runtime import Automation, compile_with_facts
from grammar.parser import parse
from tests.notes import Chat, Chatting

CHAT = '''the turns is 0
hold a Lark chat to "ada" as follows
  add 1 to the turns
  if the visitor's words is "bye" then
    say "Goodbye, {the chat's visitor}."
    hang up
  otherwise if the visitor's digits is "0" then
    say "An operator, then."
  otherwise
    say "You wrote {the visitor's words}."
'''


def test_a_calls_block_runs_once_per_turn_its_say_lines_the_replies(notes):
    notes.store.lines = ["hello", "#0", "bye", "never read"]
    result = notes.run(CHAT)
    (chat,) = notes.store.chats
    assert chat.replies == [["You wrote hello."], ["An operator, then."], ["Goodbye, ada."]]
    assert chat.ended  # `hang up`: the block ended it, and the fourth line never came
    report = result.facts["conversation report"]
    assert (report.turns, report.replies, report.failed, report.hung_up) == (3, 3, 0, True)
    assert result.facts["turns"] == 3  # a fact defined above the block keeps its changes, after it too


def test_the_other_side_ends_it_when_its_turns_run_out(notes, capsys):
    notes.store.lines = ["one", "two"]
    report = notes.run(CHAT).value
    assert (report.turns, report.hung_up) == (2, False)
    assert notes.store.chats[0].replies == [["You wrote one."], ["You wrote two."]]
    assert capsys.readouterr().out == ""  # the replies went to the chat, not to standard output


def test_stop_ends_the_conversation_like_hang_up(notes):
    notes.store.lines = ["a", "b"]
    report = notes.run('hold a Lark chat to "ada" as follows\n  say "once"\n  stop\n').value
    assert report.hung_up and notes.store.chats[0].replies == [["once"]]


def test_a_turn_that_fails_is_reported_and_the_conversation_goes_on(notes, capsys):
    notes.store.lines = ["N9", "N1"]
    text = ('hold a Lark chat to "ada" as follows\n  find a note where\n    the note id is the visitor\'s words\n'
            '  say the note\'s title\n')
    report = notes.run(text).value
    assert (report.turns, report.failed) == (2, 1)
    assert notes.store.chats[0].replies == [[], ["groceries"]]
    assert "the steps of turn 1 failed at line 2" in capsys.readouterr().err


def test_answer_each_chat_runs_per_turn_where_the_trigger_runs_it(notes):
    plan = notes.check('the greeting is "Hi"\nanswer each chat as follows\n  say "{the greeting}, {the chat\'s visitor}: '
                       '{the visitor\'s words}"\n  hang up\n')
    step = plan.answers
    assert step is not None and step.conversing.noun == "chats"
    facts = Automation(type(plan)(plan.steps[:-1], plan.source)).run(notes.session()).facts
    chat = Chatting("bo", ["hey", "unheard"])
    report = Interpreter(notes.session()).converse(step.body, chat, facts)
    assert chat.replies == [["Hi, bo: hey"]] and report.hung_up


def test_run_says_where_an_answer_line_runs(notes):
    with pytest.raises(BookError, match="run this automation with 'notes chat FILE'"):
        notes.run('answer each chat as follows\n  say "Hi"\n')


@pytest.mark.parametrize("text, line, column, message, hint_part", [
    ('say "x"\nhang up\n', 2, 1, "'hang up' ends a conversation, and this line is not in one", "to end the run, write 'stop'"),
    ('read some notes as follows\n  say "x"\n', 1, 1, "'read some notes' has no conversation to run an 'as follows' block in",
     "'hold a Lark chat'"),
    ('answer each meeting as follows\n  say "x"\n', 1, 13, "the book has no conversations of 'meeting' to answer", "chats"),
    ('answer each chat\n', 1, 1, "say what to do in each turn of the chats", "the visitor is bound each turn"),
    ('process each note in the notes as follows\n  answer each chat as follows\n    say "x"\n', 2, 3,
     "an answer line runs for as long as its trigger runs, so it can't be inside another block", "not indented"),
    ('answer each chat as follows\n  say "x"\nsay "after"\n', 3, 5, "nothing after the answer line on line 1 would run",
     "for each turn"),
    ('answer each chat as follows\n  say the visitor\'s wrds\n', 2, 21, "has no field 'wrds'", "words"),
    ('hold a Lark chat to "ada" as follows\n  watch for new notes as follows\n    say "x"\n', 2, 3,
     "can't be inside another block", None),
])
def test_conversation_mistakes(notes, text, line, column, message, hint_part):
    found = notes.problems(text)
    assert any(at == line and c == column and message in m and (hint_part is None or hint_part in (h or ""))
               for at, c, m, h in found), found


def test_an_automation_run_per_event_cannot_answer(notes):
    with pytest.raises(Exception) as caught:
        compile_with_facts('answer each chat as follows\n  say "x"\n', notes.book.registry, {"chat": Chat})
    assert "can't be in an automation run for each event" in str(caught.value)


@pytest.mark.parametrize("text, column, message", [
    ("hang up now\n", 9, "'hang up' is a line of its own"),
    ("answer each\n", 12, "say which conversations to answer"),
    ('hold a Lark chat to "ada" as follows\nsay "x"\n', 1, "the lines of an input block must be indented"),
])
def test_conversation_syntax_mistakes(text, column, message):
    with pytest.raises(EnglishSyntaxError) as caught:
        parse(text)
    problem = caught.value.problems[0]
    assert message in problem.message and problem.column == column


def test_the_words_stay_free_in_names():
    statements = parse('the hang time is 3\nthe answer is "each"\nuse the above as the answer\n').statements
    assert [s.name.key for s in statements] == ["hang time", "answer", "answer"]

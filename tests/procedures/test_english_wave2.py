"""What users actually write (issue 11), run through the real SDK on the sandbox: nouns without their qualifier,
the Twilio book's synonyms, read's other verbs, `find`, one-line calls with prepositions, conditionals and
counting over messages, dates a person writes, and `say` in the command's JSON modes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from book.errors import CompileError
from book.runtime import run
from procedures import BOOK
from tests.conftest import CALLER, NUMBER, RECIPIENT, SENDER, START, requests_sent
from tests.processes import book_command

OTHER = "+15558675311"


@pytest.fixture
def say(twilio, clock):
    """English on the sandbox whose clock and the session's stand at 2022-03-01 15:00 GMT; `say` lines kept."""
    said: list = []
    session = twilio.session(now=lambda: datetime.fromtimestamp(clock(), timezone.utc), say=said.append)

    def english(text: str):
        return run(text, BOOK.registry, session)

    english.said = said  # type: ignore[attr-defined]
    english.session = session  # type: ignore[attr-defined]
    return english


def send(english, to: str, body: str) -> str:
    return english(f'send an SMS to "{to}" from "{SENDER}" saying "{body}"').value


def seed(sandbox, *messages: tuple[str, str, datetime]) -> None:
    """Messages from SENDER, each (to, body, sent at), delivered."""
    sandbox.store.insert_messages({"to": to, "from_": SENDER, "body": body, "status": "delivered",
                                   "date_created": at, "date_sent": at, "date_updated": at} for to, body, at in messages)


# -- nouns without their qualifier, synonyms, verbs ----------------------------------------------------------


@pytest.mark.parametrize("text", ["read some calls", "read the recordings", "read some alerts",
                                  "read some transcriptions", "read the texts", "read some text messages",
                                  "get the messages", "list the calls", "fetch some recordings",
                                  "retrieve the alerts", "show the transcriptions", "find some SMS"])
def test_a_list_is_named_without_its_proper_noun_by_a_synonym_or_another_verb(say, text):
    assert say(text).value == []


def test_send_an_sms_make_a_call_and_delete_a_call_in_one_line_each(say, sandbox):
    sid = send(say, RECIPIENT, "Hi")
    assert sid.startswith("SM")
    assert [m.body for m in say("read the texts").value] == ["Hi"]
    call = say(f'make a call to "{RECIPIENT}" from "{SENDER}" where\n'
               '  the twiml is "<Response><Say>Hi</Say></Response>"\n').value.sid
    assert call.startswith("CA")
    assert [c.sid for c in say("read some calls").value] == [call]
    say(f'delete a call where\n  the call sid is "{call}"\n')
    assert say("read some calls").value == []
    assert say(f'send a text message to "{OTHER}" from "{SENDER}" saying "again"').value.startswith("SM")
    response = say('make an API call where\n  the method is "GET"\n'
                   '  the path is "/2010-04-01/Accounts/{AccountSid}/Messages.json"\n').value
    assert response.status == 200 and len(response.body["messages"]) == 2


def test_a_noun_that_names_several_procedures_is_refused_with_each(say, session):
    with pytest.raises(CompileError) as caught:
        say(f'send a message to "{RECIPIENT}" saying "Hi"')
    problem = caught.value.problems[0]
    assert problem.message == ("'send message' could be any of: 'send an SMS message', 'send a Twilio message', "
                               "'send a WhatsApp message'")
    assert requests_sent(say.session) == 0


def test_find_gives_nothing_or_an_empty_list_instead_of_failing(say):
    send(say, RECIPIENT, "Hello")
    assert say('find a message whose body is "nope"').value is None
    assert say('find some messages whose body is "nope"').value == []
    assert say('find a message whose body is "Hello"').value.body == "Hello"
    result = say('find a text whose body is "nope"\nif the text exists then\n  say "found"\notherwise\n  say "none"\n')
    assert say.said == ["none"] and result.facts["text"] is None


# -- one-line calls with prepositions ------------------------------------------------------------------------


def test_read_the_messages_from_and_sent_to_after_yesterday(say, sandbox):
    seed(sandbox, (RECIPIENT, "one", START - timedelta(days=1)), (OTHER, "two", START),
         (RECIPIENT, "three", START + timedelta(hours=1)), (RECIPIENT, "old", START - timedelta(days=3)))
    assert sorted(m.body for m in say(f'read the messages from "{SENDER}"').value) == ["old", "one", "three", "two"]
    # yesterday is 2022-02-28, a whole day: after it is from 2022-03-01 on
    assert [m.body for m in say(f'read the messages sent to "{RECIPIENT}" after yesterday').value] == ["three"]
    assert [m.body for m in say(f'read the messages sent to "{RECIPIENT}" before yesterday').value] == ["old"]
    assert [m.body for m in say(f'read the texts sent to "{RECIPIENT}" on yesterday').value] == ["one"]
    assert say(f'read the messages sent to "{RECIPIENT}" on today whose body is "one"').value == []


def test_a_preposition_value_is_checked_before_anything_is_sent(say):
    with pytest.raises(CompileError, match="E.164") as caught:
        say(f'send an SMS to "555-1234" from "{SENDER}" saying "Hi"')
    assert caught.value.problems[0].column == 16
    assert requests_sent(say.session) == 0


# -- conditionals, counting, sorting, dates -------------------------------------------------------------------


def test_an_auto_reply_with_conditions_inside_a_loop(say):
    for body in ("STOP", "hello", "Stop it", "price?"):
        say(f'send an SMS to "{NUMBER}" from "{CALLER}" saying "{body}"')
    text = (
        "the replies is 0\n"
        f'read the messages sent to "{NUMBER}"\n'
        "process each message as follows\n"
        '  if the message\'s body contains "stop" then\n'
        '    say "unsubscribe " + the message\'s sender number\n'
        '  otherwise if the message\'s body ends with "?"\n'
        '    send an SMS to the message\'s sender number from the message\'s recipient number saying "We will call you"\n'
        "    add 1 to the replies\n"
        "  otherwise\n"
        '    say "Hello {the message\'s sender number}, got: {the message\'s body}"\n'
        "get the replies\n"
    )
    result = say(text)
    assert result.value == 1
    assert sorted(say.said) == [f"Hello {CALLER}, got: hello", f"unsubscribe {CALLER}", f"unsubscribe {CALLER}"]
    assert [m.body for m in say(f'read the messages sent to "{CALLER}"').value] == ["We will call you"]


def test_count_sort_and_the_last_two(say, clock):
    for n in range(4):
        send(say, RECIPIENT, f"note {n}")
        clock.advance(60)
    assert say(f'count the messages whose recipient number is "{RECIPIENT}"').value == 4
    text = "read the messages\nsort the messages by date sent\nget the last 2 messages\n"
    assert [m.body for m in say(text).value] == ["note 2", "note 3"]
    assert say("read the messages\nsort the messages by date sent descending\n"
               "get the first message of the above\nget the above's body\n").value == "note 3"
    assert say("read the messages\nsay how many messages\nget the number of messages\n").value == 4


def test_a_list_is_named_by_its_last_words_and_the_latest_is_meant(say, clock):
    # `read some SMS messages` (or `the texts`) gives `the sms messages`: `the messages` names them too, and
    # after a send (one `sms message`) `the messages` is still the list, of the latest read
    for n in range(3):
        send(say, RECIPIENT, f"short {n}")
        clock.advance(60)
    text = (f'read some SMS messages whose body contains "short"\nsend an SMS to "{OTHER}" from "{SENDER}" saying "x"\n'
            'sort the messages by date sent descending\nsay the number of the above\n'
            'say "{how many messages are there} in all"\nsay how many messages there are\n'
            'get the first message of the messages\n')
    assert say(text).value.body == "short 2"
    assert say.said == [3, "3 in all", 3]
    assert say("read the texts\ncount the messages whose body contains \"short\"\n").value == 3
    with pytest.raises(CompileError) as caught:
        say('send an SMS to "+15558675310" from "+15005550006" saying "x"\nsay how many messages\n')
    assert "'the messages' is not defined before this line" in str(caught.value)  # one message is no list


@pytest.mark.parametrize("day", ['"March 1, 2022"', '"03/01/2022"', "2022-03-01", "today"])
def test_dates_a_person_writes_filter_on_the_day_sent(say, sandbox, day):
    seed(sandbox, (RECIPIENT, "dated", START), (RECIPIENT, "before", START - timedelta(days=1)))
    assert [m.body for m in say(f"read some messages whose date sent is {day}").value] == ["dated"]
    assert say(f"read some messages whose date sent is {day} + 1 day").value == []


def test_the_messages_sent_today_and_yesterday(say, sandbox):
    seed(sandbox, (RECIPIENT, "today", START), (RECIPIENT, "yesterday", START - timedelta(days=1)))
    assert [m.body for m in say("read the messages sent today").value] == ["today"]
    assert [m.body for m in say("read the texts sent yesterday").value] == ["yesterday"]
    assert sorted(m.body for m in say("read the messages sent this month").value) == ["today"]  # 2022-03-01
    assert say(f'count the messages sent to "{RECIPIENT}" today').value == 1
    assert say(f'count the texts sent to "{OTHER}"').value == 0
    assert [m.body for m in say(f'get the last 5 texts sent to "{RECIPIENT}"').value] == ["today", "yesterday"]


def test_in_the_last_and_this_month_on_the_sandbox_clock(say, sandbox):
    seed(sandbox, (RECIPIENT, "old", START), (RECIPIENT, "new", START + timedelta(days=8)))
    say.session.now = lambda: START + timedelta(days=8, hours=1)
    assert [m.body for m in say("read the messages whose date sent is in the last 7 days").value] == ["new"]
    assert [m.body for m in say("read the messages whose date sent is this month").value] == ["new", "old"]
    assert say("read the messages whose date sent is last month").value == []


def test_an_ambiguous_date_is_refused_before_anything_is_sent(say):
    with pytest.raises(CompileError) as caught:
        say('read some messages whose date sent is "13/03/2022"')
    problem = caught.value.problems[0]
    assert "read month first (MM/DD/YYYY)" in problem.message and "write 2022-03-13" in problem.message
    with pytest.raises(CompileError, match="two-digit year"):
        say('read some messages whose date sent is "03/01/22"')
    assert requests_sent(say.session) == 0


# -- say through the command ------------------------------------------------------------------------------


AUTOMATION = 'say "hello"\nthe n is 2 + 3\nsay "n is {the n}"\nget the n\n'


def test_say_prints_lines_in_table_mode_and_is_part_of_the_json_result(tmp_path, home):
    path = tmp_path / "say.auto"
    path.write_text(AUTOMATION, encoding="utf-8")
    table = book_command("run", "--sandbox", str(path), home=home)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines() == ["hello", "n is 5", "5"]
    path.write_text(AUTOMATION + 'say "bye"\n', encoding="utf-8")  # a say on the last line is printed once
    assert book_command("run", "--sandbox", str(path), home=home).stdout.splitlines() == ["hello", "n is 5", "bye"]
    path.write_text(AUTOMATION + 'if the n is 5 then say "five"\notherwise say "not five"\n', encoding="utf-8")
    assert book_command("run", "--sandbox", str(path), home=home).stdout.splitlines() == ["hello", "n is 5", "five"]
    path.write_text(AUTOMATION, encoding="utf-8")
    document = book_command("run", "--sandbox", "--output", "json", str(path), home=home)
    assert json.loads(document.stdout) == {"said": ["hello", "n is 5"], "result": 5}
    lines = book_command("run", "--sandbox", "--output", "jsonl", str(path), home=home)
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [{"said": "hello"}, {"said": "n is 5"}, 5]


def test_a_watch_for_new_texts_knows_each_as_the_text():
    from book.runtime import check

    plan = check('watch for new texts every minute as follows\n  if the text\'s body contains "STOP" then\n    stop\n'
                 '  say "new: " + the text\'s body\n', BOOK.registry)
    [watch] = plan.steps
    assert watch.procedure.english == "read some SMS messages" and "text" in watch.binds

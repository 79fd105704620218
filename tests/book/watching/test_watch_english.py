"""The English form of watch: `watch for new SMS messages whose ... as follows`, run through the real SDK.

Each new item runs the block once, oldest first; the cursor is saved after each block, so across runs
nothing is handed on twice (no reply is sent twice) and nothing is missed. The tests run each watch
with `watch_polls=1` (what `twilio-book run --once` does) and put messages in the sandbox between runs.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from book.authoring import Book
from book.errors import BookError, CompileError, EnglishSyntaxError, RemoteError
from book.interpreter import Session
from book.runtime import Automation, check
from concepts import Concept
from procedures import BOOK
from sandbox import open_sandbox
from tests import ROOT
from tests.conftest import CALLER, NUMBER, START
from tests.processes import Process

OTHER = "+15558675311"
T1, T2 = START + timedelta(seconds=5), START + timedelta(seconds=9)

REPLY = f'''# answer each new message to our number
watch for new SMS messages whose recipient number is "{NUMBER}" every 10 seconds as follows
  send an SMS message where
    the sender number is the message's recipient number
    the recipient number is the message's sender number
    the message body is "Got it"
'''


def inbound(sandbox, *dates, to=NUMBER, sender=CALLER, body="hi"):
    rows = [{"to": to, "from": sender, "body": body, "direction": "inbound", "status": "received", "date_created": d}
            for d in dates]
    return sandbox.store.insert_messages(rows)


def replies(client, body="Got it"):
    """The replies the watch sent, through the SDK: (recipient, body) pairs."""
    return sorted(m.to for m in client.messages.list(from_=NUMBER) if m.body == body)


@pytest.fixture
def run(session: Session, home: Path):
    """Run an automation once, as `twilio-book run --once` does; returns (result value, progress lines)."""

    def run_(text: str, filename: str = "reply.auto", *, polls: int | None = 1, on_progress=None,
             registry=BOOK.registry, stop=None):
        said: list[str] = []

        def progress(message: str) -> None:
            said.append(message)
            if on_progress is not None:
                on_progress(message, this)

        this = dataclasses.replace(session, progress=progress, home=home, watch_polls=polls,
                                   stop=stop or threading.Event())
        this._made.clear()
        result = Automation.compile(text, registry, filename).run(this)
        return result, said

    return run_


def test_each_new_message_runs_the_block_once_across_runs_and_nothing_is_sent_twice(sandbox, client, run):
    inbound(sandbox, START)
    first, said = run(REPLY)
    assert first.value.handed_on == 0 and first.value.started_from_now and replies(client) == []  # from now
    assert any("started from now" in line for line in said)

    new = inbound(sandbox, T1, T1, T2, sender=OTHER)  # two share a timestamp
    inbound(sandbox, T2, to=OTHER)  # not to our number: filtered out
    second, said = run(REPLY)
    assert second.value.handed_on == 3 and not second.value.started_from_now
    assert replies(client) == [OTHER] * 3
    handed = [line.split()[-1] for line in said if line.startswith("handed on")]
    assert set(handed[:2]) == set(new[:2]) and handed[2] == new[2]  # oldest first

    third, _ = run(REPLY)
    assert third.value.handed_on == 0 and replies(client) == [OTHER] * 3  # a restart sends nothing again


def test_the_block_sees_the_new_item_by_its_name_and_its_noun(sandbox, client, run):
    text = ('watch for new SMS messages as follows\n'
            '  get the sms message\'s body\n'
            '  use the message\'s sender number as the caller\n')
    run(text)
    inbound(sandbox, T1, body="first")
    result, said = run(text)
    assert result.value.handed_on == 1 and "caller" not in result.facts  # facts of the block stay in the block
    assert any(line.startswith("handed on the new message SM") for line in said)


def test_a_failing_block_is_reported_and_the_watch_goes_on_without_retrying_it(sandbox, client, run):
    echo = REPLY.replace('"Got it"', "the message's body")
    run(echo)
    _, too_long, _ = inbound(sandbox, T1, body="short"), inbound(sandbox, T1, body="x" * 1700), inbound(sandbox, T2, body="later")
    result, said = run(echo)
    assert (result.value.handed_on, result.value.failed) == (3, 1)
    assert sorted(m.body for m in client.messages.list(from_=NUMBER)) == ["later", "short"]  # the long one: not sent
    failed = [line for line in said if "failed" in line]
    assert len(failed) == 1 and too_long[0] in failed[0] and "line 3" in failed[0] and "nothing was sent" in failed[0]
    again, _ = run(echo)
    assert again.value.handed_on == 0  # handed on once: the failure was said, not retried


HANDBRAKE = threading.Event()
brakes = Book("Brakes", description="Stops a run the way Ctrl-C does, for the tests.")


@brakes.procedure("to pull a handbrake")
def pull_handbrake() -> str:
    """Pull the handbrake: the run is asked to stop, as a first Ctrl-C asks it.

    Output Concepts:
        answer: What was done.
    """
    HANDBRAKE.set()
    return "pulled"


def test_stopping_ends_the_watch_between_two_items_never_inside_one(sandbox, client, run):
    from book.registry import Registry

    registry = Registry()
    registry.merge(BOOK.registry)
    registry.merge(brakes.registry)
    two_steps = REPLY + '''  pull a handbrake
  send an SMS message where
    the sender number is the message's recipient number
    the recipient number is the message's sender number
    the message body is "And again"
'''
    run(two_steps, registry=registry)
    new = inbound(sandbox, T1, T2, START + timedelta(seconds=20))
    HANDBRAKE.clear()
    stopped, _ = run(two_steps, polls=None, registry=registry, stop=HANDBRAKE)  # would poll forever, unstopped
    assert stopped.value.handed_on == 1
    assert replies(client) == [CALLER] and replies(client, "And again") == [CALLER]  # the item's block ran whole
    rest, said = run(two_steps, registry=registry)
    assert replies(client) == [CALLER] * 3 and replies(client, "And again") == [CALLER] * 3
    assert [line.split()[-1] for line in said if line.startswith("handed on")] == new[1:]


def test_each_automation_keeps_its_own_cursor_and_an_edited_block_keeps_its_place(sandbox, client, run, home):
    run(REPLY, "a.auto")
    run(REPLY, "b.auto")
    inbound(sandbox, T1)
    assert run(REPLY, "a.auto")[0].value.handed_on == 1
    assert run(REPLY, "b.auto")[0].value.handed_on == 1  # another automation is handed the same message too
    edited = REPLY.replace('"Got it"', '"Thanks!"')
    inbound(sandbox, T2)
    assert run(edited, "a.auto")[0].value.handed_on == 1  # the block changed, the watch did not: only the newer one
    assert replies(client, "Thanks!") == [CALLER]
    cursors = sorted(p.name for p in (home / "triggers").glob("automation-*.json"))
    assert len(cursors) == 2


def test_a_filter_can_use_facts_and_text_operators(sandbox, client, run):
    text = (f'the shop number is "{NUMBER}"\n'
            'watch for new SMS messages whose recipient number is the shop number and whose body contains "order" '
            'as follows\n  get the message\'s body\n')
    run(text)
    inbound(sandbox, T1, body="an order please")
    inbound(sandbox, T1, body="just saying hi")
    inbound(sandbox, T1, to=OTHER, body="another order")
    result, said = run(text)
    assert result.value.handed_on == 1
    assert sum(line.startswith("handed on") for line in said) == 1


@pytest.mark.parametrize(("text", "message", "line", "column"), [
    ("watch for new SMS mesages as follows\n  get the message\n",
     "I don't know how to read 'SMS mesages', so I can't watch for new ones", 1, 15),
    ("watch for new SMS messages\n", "say what to do with each new message", 1, 1),
    ("watch for new SMS messages every 0.5 seconds as follows\n  get the message\n",
     "every 0.5 seconds is too often", 1, 34),
    ("watch for new SMS messages every 8 days as follows\n  get the message\n", "every 8 days is too seldom", 1, 34),
    ("watch for new SMS messages every 0 seconds as follows\n  get the message\n",
     "every 0 seconds is not a time between two checks", 1, 34),
    ("watch for new SMS messages whose colour is \"red\" as follows\n  get the message\n",
     "has no field 'colour'", 1, 34),
    ("watch for new SMS messages as follows\n  get the message's bdy\n", "has no field 'bdy'", 2, 21),
    ("read some SMS messages\nprocess each message as follows\n  watch for new phone calls as follows\n    get the call\n",
     "a watch runs until it is stopped, so it can't be inside another block", 3, 3),
    ("watch for new SMS messages as follows\n  get the message\nwatch for new phone calls every minute as follows\n"
     "  get the call\n", "nothing after the watch on line 1 would run", 3, 1),
    ("watch for new SMS messages as follows\n  get the message\nget \"done\"\n",
     "nothing after the watch on line 1 would run", 3, 5),
])
def test_mistakes_in_a_watch_are_found_before_anything_runs(text, message, line, column):
    with pytest.raises(CompileError) as caught:
        check(text, BOOK.registry, "watch.auto")
    problem = next(p for p in caught.value.problems if message in p.message)
    assert (problem.line, problem.column) == (line, column)
    assert problem.hint


def test_a_watch_line_that_is_not_finished_is_a_syntax_error_with_a_place():
    with pytest.raises(EnglishSyntaxError) as caught:
        check("watch for SMS messages as follows\n  get the message\n", BOOK.registry)
    assert (caught.value.problems[0].line, caught.value.problems[0].column) == (1, 11)


def test_every_watchable_list_can_be_watched_in_english():
    for noun, fact in (("SMS messages", "message"), ("phone calls", "call"), ("Twilio recordings", "recording"),
                       ("Twilio transcriptions", "transcription"), ("Twilio alerts", "alert")):
        plan = check(f"watch for new {noun} every minute as follows\n  get the {fact}'s sid\n", BOOK.registry)
        (step,) = plan.steps
        assert step.every == 60 and fact in step.binds


def test_every_example_automation_compiles():
    examples = sorted((ROOT / "examples").glob("*.auto"))
    assert any("watch for new" in path.read_text() for path in examples)
    for path in examples:
        check(path.read_text(), BOOK.registry, str(path))


def test_ctrl_c_stops_a_running_watch_after_the_item_in_hand(home, tmp_path):
    automation = tmp_path / "reply.auto"
    automation.write_text(REPLY.replace("every 10 seconds", "every 1 second"))
    watch = Process("run", str(automation), home=home)
    try:
        watch.err_until("started from now")
        sandbox = open_sandbox(home)
        try:
            sandbox.store.insert_messages([{"to": NUMBER, "from": CALLER, "body": "hi", "direction": "inbound"}])
        finally:
            sandbox.close()
        watch.err_until("handed on the new message")
        watch.process.send_signal(signal.SIGINT)
        watch.err_until("stopping after the item in hand")
        assert watch.process.wait(timeout=15) == 0
        report = "".join(watch.out.get(timeout=5) for _ in range(4))
        assert "handed on         1" in report and "started from now  True" in report  # this run placed the cursor
    finally:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait(timeout=10)


def test_an_agent_tool_call_checks_a_watch_once_and_is_refused_a_send_when_read_only(sandbox, client, session, home):
    from book.mcp.calls import ServeOptions, Toolbox

    watching = dataclasses.replace(session, home=home, progress=lambda message: None)
    box = Toolbox(BOOK, watching)
    first = box.call("run_automation", {"text": REPLY}).structured["result"]  # returns at once
    assert first["started_from_now"] and first["handed_on"] == 0
    inbound(sandbox, T1, T2)
    out = box.call("run_automation", {"text": REPLY})
    assert not out.is_error, out.text
    assert out.structured["result"]["handed_on"] == 2 and replies(client) == [CALLER, CALLER]
    assert box.call("run_automation", {"text": REPLY}).structured["result"]["handed_on"] == 0
    refused = Toolbox(BOOK, watching, ServeOptions(read_only=True)).call("run_automation", {"text": REPLY})
    assert refused.is_error and "'send an SMS message'" in refused.text


def test_an_automation_a_trigger_runs_for_each_item_may_not_watch(home, capsys, tmp_path):
    from procedures.cli import main

    nested = tmp_path / "nested.auto"
    nested.write_text("get the message's body\nwatch for new phone calls as follows\n  get the call's sid\n")
    assert main(["watch", "messages", "--once", "--sandbox", "--run", str(nested)]) == 2
    err = capsys.readouterr().err
    assert f"{nested}:2:1: a watch runs until it is stopped, so it can't be in an automation run for each event" in err
    assert not (home / "triggers").exists()  # refused before anything ran


def test_at_most_n_at_a_time_hands_on_the_oldest_and_leaves_the_rest_for_the_next_poll(sandbox, client, run):
    text = REPLY.replace("every 10 seconds", "every 10 seconds at most 2 at a time")
    run(text)
    new = inbound(sandbox, T1, T2, START + timedelta(seconds=20))
    first, said = run(text)
    assert first.value.handed_on == 2 and [line.split()[-1] for line in said if line.startswith("handed on")] == new[:2]
    second, said = run(text)
    assert second.value.handed_on == 1 and [line.split()[-1] for line in said if line.startswith("handed on")] == new[2:]
    with pytest.raises(CompileError, match="0 is not a count of new items"):
        check(text.replace("at most 2", "at most 0"), BOOK.registry)


class Ticket(Concept):
    """A ticket of a help desk (a book author's list: watchable by its date created and SID)."""

    concept_name = "ticket"

    sid: str
    """The ticket's identifier."""
    date_created: datetime | None = None
    """When the ticket was opened."""


def test_a_watch_whose_request_is_refused_stops_with_its_error_instead_of_retrying_it_forever(home):
    desk = Book("Desk", description="A help desk that refuses every read.", client_factory=lambda credentials: None)
    polls = []

    @desk.procedure("to read some (tickets)")
    def read_tickets(client: None) -> list[Ticket]:
        """Read the tickets, newest first.

        Output Concepts:
            tickets: The tickets.
        """
        polls.append(1)
        raise RemoteError("the desk refuses this read", status=400)

    automation = Automation.compile("watch for new tickets every second as follows\n  get the ticket's sid\n",
                                    desk.registry, "desk.auto")
    session = Session(clients={desk.name: lambda: None}, home=home, progress=lambda message: None)
    with pytest.raises(RemoteError, match="the desk refuses this read") as caught:
        automation.run(session)  # polls until stopped, unless a refused read stops it
    assert caught.value.where.startswith("line 1: watch for new tickets") and len(polls) == 1


@pytest.mark.parametrize("text", [
    'the meeting at noon is "x"\n',
    'the price every month is 5\n',
    'read some SMS messages whose body contains "every day" and whose sender number is "+15005550006"\n',
    'watch some videos\n',  # a procedure may still say 'watch': only 'watch for' starts a watch
])
def test_the_words_of_a_watch_line_stay_free_everywhere_else(text):
    from grammar.parser import parse

    statement = parse(text).statements[0]
    assert type(statement).__name__ in ("Assign", "Call")


def test_the_clauses_of_a_watch_come_in_either_order_and_every_day_is_a_time():
    one = check("watch for new SMS messages at most 5 at a time every 2 minutes as follows\n  get the message\n",
                BOOK.registry).steps[0]
    other = check("watch for new SMS messages every day at most 5 at a time as follows\n  get the message\n",
                  BOOK.registry).steps[0]
    assert (one.every, one.limit) == (120, 5) and (other.every, other.limit) == (86400, 5)
    with pytest.raises(EnglishSyntaxError, match="expected a unit of time"):
        check("watch for new SMS messages every 10 as follows\n  get the message\n", BOOK.registry)


def test_a_second_run_of_the_same_watch_is_refused_while_the_first_runs(sandbox, run, home):
    from book.watching.watch import automation_cursor_file

    run(REPLY)  # places the cursor
    step = check(REPLY, BOOK.registry, "reply.auto").steps[0]
    cursor = automation_cursor_file(home, step.watchable, sandbox.account_sid, step.automation)
    with cursor.locked(), pytest.raises(BookError, match="this watch is already running in another process"):
        run(REPLY)  # as another process running this watch holds the lock


def test_failed_blocks_make_the_run_fail_after_the_others_ran(home, capsys, tmp_path):
    from procedures.cli import main

    echo = tmp_path / "echo.auto"
    echo.write_text(REPLY.replace('"Got it"', "the message's body"))
    assert main(["run", "--once", "--sandbox", str(echo)]) == 0  # places the cursor
    sandbox = open_sandbox(home)
    try:
        sandbox.store.insert_messages([{"to": NUMBER, "from": CALLER, "body": body, "direction": "inbound"}
                                       for body in ("fine", "x" * 1700)])
    finally:
        sandbox.close()
    assert main(["run", "--once", "--sandbox", str(echo)]) == 1
    err = capsys.readouterr().err
    assert "the steps failed for 1 of the 2 new items" in err and "handed on the new message" in err


def test_a_filter_that_matches_nothing_yet_still_starts_from_the_newest_item(sandbox, run, home):
    import json

    inbound(sandbox, START, T1, body="hello")
    report, _ = run('watch for new SMS messages whose body contains "zzz" as follows\n  get the message\n')
    assert report.value.started_from_now
    saved = json.loads(Path(report.value.cursor).read_text())
    assert saved["high_water"] == T1.isoformat()  # not the start of the history: later polls read little


def test_automations_without_a_file_keep_a_cursor_each(sandbox, run):
    first = 'watch for new SMS messages as follows\n  get the message\'s body\n'
    second = 'watch for new SMS messages as follows\n  get the message\'s sid\n'
    run(first, "<stdin>")
    run(second, "<stdin>")
    inbound(sandbox, T1)
    assert run(first, "<stdin>")[0].value.handed_on == 1
    assert run(second, "<stdin>")[0].value.handed_on == 1  # not taken by the other automation


@pytest.mark.parametrize(("text", "message", "line"), [
    ('the x is 1\nwatch for new SMS messages whose body is "x" every 5 seconds\n  get the message\n',
     "this line is indented, but nothing above it opens a block", 3),
    ("watch for new SMS messages as follows\nget the message\n", "the lines of an input block must be indented", 2),
])
def test_a_watch_without_its_block_gets_the_known_mistakes_message(text, message, line):
    with pytest.raises(EnglishSyntaxError) as caught:
        check(text, BOOK.registry)
    problem = caught.value.problems[0]
    assert (problem.message, problem.line) == (message, line) and "as follows" in problem.hint


def test_stop_in_the_block_ends_the_watch_after_its_item_and_a_counter_counts_across_items(sandbox, client, run):
    text = ("the seen is 0\n"
            f'watch for new texts to "{NUMBER}" every 10 seconds as follows\n'
            "  add 1 to the seen\n"
            '  if the text\'s body contains "STOP" then\n'
            "    stop\n"
            '  send an SMS to the text\'s sender number from the text\'s recipient number saying "Got it"\n')
    run(text)  # from now
    new = inbound(sandbox, T1, T1 + timedelta(seconds=1))
    inbound(sandbox, T2, body="STOP")
    inbound(sandbox, START + timedelta(seconds=20), body="after the end")
    stopped, said = run(text, polls=None)  # would poll forever, but the block says stop at the third
    assert stopped.value.handed_on == 3 and stopped.facts["seen"] == 3
    assert replies(client) == [CALLER] * 2
    assert any(line.startswith("stopped at the new message SM") for line in said)
    rest, said = run(text)  # the stopped item was done: the next run goes on after it
    assert rest.value.handed_on == 1 and rest.facts["seen"] == 1 and replies(client) == [CALLER] * 3
    assert [line.split()[-1] for line in said if line.startswith("handed on")] != new

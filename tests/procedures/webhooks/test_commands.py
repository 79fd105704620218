"""The commands: `watch` in-process, `listen` in its own process with `sandbox receive` posting to it."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from procedures.cli import main
from sandbox import MessageFilter, open_sandbox
from sandbox.paging import PageRequest
from tests.conftest import CALLER, NUMBER, START
from tests.processes import Process


def messages(home: Path, **where) -> list:
    sandbox = open_sandbox(home)
    try:
        return sandbox.store.list_messages(MessageFilter(**where), PageRequest())[0]
    finally:
        sandbox.close()


def seed(home: Path, *rows: dict) -> list[str]:
    sandbox = open_sandbox(home)
    try:
        return sandbox.store.insert_messages(rows)
    finally:
        sandbox.close()


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_watch_hands_each_new_message_on_once_across_runs(home, capsys, tmp_path):
    seed(home, {"to": NUMBER, "from": CALLER, "body": "old", "direction": "inbound", "date_created": START})
    assert main(["watch", "messages", "--once", "--sandbox", "--to", NUMBER]) == 0
    assert capsys.readouterr().out == ""  # the first run starts from now
    new = seed(home, *({"to": NUMBER, "from": CALLER, "body": f"new {i}", "direction": "inbound",
                        "date_created": START + timedelta(seconds=i)} for i in (1, 2)))
    reply = tmp_path / "reply.auto"
    reply.write_text('send an SMS message where\n  the sender number is the message\'s recipient number\n'
                     '  the recipient number is the message\'s sender number\n  the message body is "Got it"\n')
    assert main(["watch", "messages", "--once", "--sandbox", "--to", NUMBER, "--run", str(reply)]) == 0
    captured = capsys.readouterr()
    assert [m["sid"] for m in lines(captured.out)] == new
    assert "watching messages; the cursor is" in captured.err
    assert [m.body for m in messages(home, from_=NUMBER)] == ["Got it", "Got it"]
    assert main(["watch", "messages", "--once", "--sandbox", "--to", NUMBER]) == 0
    assert capsys.readouterr().out == ""  # the replies are not to NUMBER; nothing is handed on twice


def test_watch_refuses_what_it_cant_watch_and_english_that_does_not_fit(home, capsys, tmp_path):
    assert main(["watch", "faxes", "--once", "--sandbox"]) == 1
    assert "can't watch 'faxes'; it can watch: messages" in capsys.readouterr().err
    bad = tmp_path / "bad.auto"
    bad.write_text("get the message's colour\n")
    assert main(["watch", "messages", "--once", "--sandbox", "--run", str(bad)]) == 2
    assert "has no field 'colour'" in capsys.readouterr().err


def test_watch_since_on_a_first_run_hands_on_the_backlog_and_later_says_it_is_ignored(home, capsys):
    backlog = seed(home, *({"to": NUMBER, "from": CALLER, "body": f"old {i}", "direction": "inbound",
                            "date_created": START + timedelta(seconds=i)} for i in (1, 2)))
    since = ["watch", "messages", "--once", "--sandbox", "--since", "2000-01-01T00:00:00Z"]
    assert main([*since, "--reset"]) == 0
    assert [m["sid"] for m in lines(capsys.readouterr().out)] == backlog  # at once, not on the next run
    assert main(since) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing twice
    assert "--since is ignored: this watch already has a cursor" in captured.err and "--reset" in captured.err


def test_watch_checks_everything_before_it_forgets_the_cursor(home, capsys):
    assert main(["watch", "messages", "--once", "--sandbox", "--name", "mine"]) == 0
    cursor = home / "triggers" / "mine.json"
    assert cursor.exists()
    capsys.readouterr()
    assert main(["watch", "messages", "--once", "--sandbox", "--name", "mine", "--reset", "--call-sid", "CA1"]) == 1
    assert "can't filter by call-sid (its filters: --from, --to)" in capsys.readouterr().err
    assert main(["watch", "messages", "--once", "--sandbox", "--name", "mine", "--reset", "--from", "notanumber"]) == 1
    err = capsys.readouterr().err
    assert "--from: 'notanumber' is not a phone number in E.164 format" in err
    assert "sandbox" not in err  # refused before anything was opened, let alone sent
    assert cursor.exists()
    assert main(["watch", "messages", "--once", "--sandbox", "--to", "whatsapp:+15005550006"]) == 0
    assert main(["watch", "calls", "--once", "--sandbox", "--from", "client:alice"]) == 0


def test_watch_reports_a_damaged_cursor_and_reset_starts_again(home, capsys):
    (home / "triggers").mkdir(parents=True)
    (home / "triggers" / "mine.json").write_text('{"version": 1, "scope": {"watch": "messages"}, "sids": 5}')
    assert main(["watch", "messages", "--once", "--sandbox", "--name", "mine"]) == 1
    err = capsys.readouterr().err
    assert "belongs to another watch" in err and "internal error" not in err
    (home / "triggers" / "mine.json").write_text("[1, 2]")
    assert main(["watch", "messages", "--once", "--sandbox", "--name", "mine"]) == 1
    err = capsys.readouterr().err
    assert "can't be read (it holds a JSON list, not a cursor); delete it" in err and "internal error" not in err
    assert main(["watch", "messages", "--once", "--sandbox", "--name", "mine", "--reset"]) == 0


@pytest.mark.parametrize(("flags", "said"), [
    (["--every", "abc"], "argument --every: 'abc' is not a number of seconds; write it like 30 or 0.5"),
    (["--every", "0"], "argument --every: must be a number of seconds more than 0"),
    (["--every", "nan"], "argument --every: must be a number of seconds more than 0"),
    (["--limit", "some"], "argument --limit: 'some' is not a whole number"),
])
def test_watch_explains_a_bad_interval_or_limit(flags, said, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["watch", "messages", "--once", "--sandbox", *flags])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err and "_positive" not in err


def test_watch_stops_on_a_request_twilio_refuses_instead_of_retrying_it_forever(home):
    watch = Process("watch", "calls", "--status", "bogus", "--sandbox", "--every", "0.2", home=home)
    try:
        watch.err_until("stopped watching: this poll failed in a way that trying again can't fix")
        assert "'bogus' must be one of" in watch.err_until("Twilio refused to read phone calls")
        assert watch.process.wait(timeout=15) == 1
        assert not any("trying again in" in line for line in watch.stderr)
    finally:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait(timeout=10)


@pytest.fixture
def listen(home):
    started: list[Process] = []

    def start(*args: str) -> Process:
        process = Process("listen", *args, home=home)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(timeout=10)


def test_listen_prints_its_endpoints_and_an_inbound_sms_runs_the_automation(home, listen, tmp_path, capsys):
    reply = tmp_path / "reply.auto"
    reply.write_text('send an SMS message where\n  the sender number is the message\'s recipient number\n'
                     '  the recipient number is the message\'s sender number\n  the message body is "Thanks!"\n')
    listener = listen("--sandbox", "--number", NUMBER, "--run", str(reply), "--say", "Hello caller")
    for path in ("/twilio/message-status", "/twilio/sms", "/twilio/whatsapp", "/twilio/voice"):
        assert path in listener.err_until(path)
    listener.err_until(f"the sandbox number {NUMBER} now sends its messages and calls here")
    listener.err_until("press Ctrl-C to stop")

    assert main(["sandbox", "receive", "--from", CALLER, "--to", NUMBER, "--body", "Hi there"]) == 0
    received = json.loads(capsys.readouterr().out)
    assert received["status"] == 200 and received["webhook"].endswith("/twilio/sms")
    event = json.loads(listener.out.get(timeout=10))
    assert (event["trigger"], event["type"]) == ("sms", "twilio inbound sms message")
    assert (event["event"]["sid"], event["event"]["body"]) == (received["sid"], "Hi there")
    deadline = time.monotonic() + 10  # the automation runs after the answer, on the listener's worker
    while not messages(home, from_=NUMBER) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(m.to, m.body) for m in messages(home, from_=NUMBER)] == [(CALLER, "Thanks!")]

    assert main(["sandbox", "receive", "--call", "--from", CALLER, "--to", NUMBER]) == 0
    call = json.loads(capsys.readouterr().out)
    assert "<Say>Hello caller</Say>" in call["answer"]
    assert json.loads(listener.out.get(timeout=10))["type"] == "twilio inbound call"

    assert listener.stop() == 0
    listener.err_until("stopped listening")


def test_listen_runs_the_events_a_listener_that_stopped_left_queued_for_its_automation(home, listen, tmp_path):
    from concepts.events import InboundSmsMessage
    from procedures.webhooks.idempotency import Queued, SeenTokens

    reply = tmp_path / "reply.auto"
    reply.write_text('send an SMS message where\n  the sender number is the message\'s recipient number\n'
                     '  the recipient number is the message\'s sender number\n  the message body is "Sorry, late"\n')
    event = InboundSmsMessage.from_webhook({"AccountSid": "AC" + "0" * 32, "MessageSid": "SM" + "9" * 32,
                                            "From": CALLER, "To": NUMBER, "Body": "anyone?"})
    seen = SeenTokens(home / "triggers" / "webhooks.sqlite3")  # what a listener that died left: queued, not started
    seen.add("left", Queued(kind="sms", event=event.model_dump_json(), label=f"sms {event.sid}",
                            automation=os.path.realpath(reply), owner="a-listener-that-died"))
    seen.close()
    listener = listen("--sandbox", "--run", str(reply))
    listener.err_until("running the automation on 1 event(s) that a listener which stopped had queued")
    deadline = time.monotonic() + 10
    while not messages(home, from_=NUMBER) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(m.to, m.body) for m in messages(home, from_=NUMBER)] == [(CALLER, "Sorry, late")]
    listener.err_until("press Ctrl-C to stop")
    assert listener.stop() == 0
    assert listener.out.empty()  # its JSON line was printed by the listener that took the delivery


def test_listen_behind_a_proxy_checks_the_public_url(home, listen, capsys):
    listener = listen("--sandbox", "--public-url", "https://hooks.example.com/", "--number", NUMBER)
    local = listener.err_until("listening on").split("listening on ")[1].split()[0]
    assert "https://hooks.example.com/twilio/sms" in listener.err_until("/twilio/sms")
    listener.err_until("press Ctrl-C to stop")
    # The sandbox posts to the public URL, which does not exist here: sign for it, deliver to the local one.
    assert main(["sandbox", "receive", "--from", CALLER, "--to", NUMBER, "--body", "x",
                 "--webhook", local + "/twilio/sms"]) == 1  # signed for the local URL: refused
    assert json.loads(capsys.readouterr().out)["status"] == 403
    assert listener.out.empty()
    listener.err_until("X-Twilio-Signature is missing or wrong (403)")
    assert listener.stop() == 0


def test_sandbox_receive_stores_a_message_to_a_number_without_a_webhook_and_says_how_to_give_it_one(home, capsys):
    assert main(["sandbox", "receive", "--from", CALLER, "--to", NUMBER, "--body", "hi"]) == 0
    captured = capsys.readouterr()
    sid = json.loads(captured.out)["sid"]
    assert [m.sid for m in messages(home, to=NUMBER)] == [sid]  # received, as at Twilio: reads and watches see it
    assert f"listen --sandbox --number {NUMBER}" in captured.err
    assert main(["sandbox", "receive", "--from", "555", "--to", NUMBER, "--body", "hi"]) == 1
    assert "--from: '555' is not a phone number in E.164 format" in capsys.readouterr().err


def test_listen_refuses_before_starting_what_cannot_work(home, capsys, tmp_path, monkeypatch):
    reply = tmp_path / "reply.auto"
    reply.write_text("get the message's body\n")
    assert main(["listen", "--sandbox", "--run", str(reply), "--on", "call"]) == 2
    assert "'the message' is not defined" in capsys.readouterr().err
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "2" * 32)
    monkeypatch.setenv("TWILIO_API_SECRET", "not-the-auth-token")
    assert main(["listen"]) == 1
    err = capsys.readouterr().err
    assert "signs its webhooks with the account's Auth Token" in err and "not-the-auth-token" not in err
    monkeypatch.delenv("TWILIO_API_KEY")
    monkeypatch.delenv("TWILIO_API_SECRET")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "3" * 32)
    assert main(["listen", "--number", "+15005550006"]) == 1
    assert "paste the URLs" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["99999", "-5", "http"])
def test_listen_refuses_a_port_that_is_no_port(home, capsys, port):
    with pytest.raises(SystemExit) as exited:
        main(["listen", "--sandbox", "--port", port])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "is not a port number; give one from 1 to 65535, or 0 for any free one" in err and port in err
    assert "internal error" not in err


def test_listen_says_when_the_host_is_wrong_not_the_port(home, capsys):
    assert main(["listen", "--sandbox", "--host", "no-such-host.invalid"]) == 1
    err = capsys.readouterr().err
    assert "can't listen on the host 'no-such-host.invalid'" in err and "--port" not in err


# A listener that wrongly started would listen until stopped: on a host that does not exist, it fails at once.
NOWHERE = ("--host", "no-such-host.invalid")


def test_listen_refuses_numbers_that_would_never_match(home, capsys, tmp_path):
    assert main(["listen", "--sandbox", *NOWHERE, "--number", "5005550006"]) == 1
    assert "--number: '5005550006' is not a phone number in E.164 format" in capsys.readouterr().err
    answers = tmp_path / "answers.toml"
    answers.write_text('[numbers."5005550006".call]\nsay = "hi"\n', encoding="utf-8")
    assert main(["listen", "--sandbox", *NOWHERE, "--answers", str(answers)]) == 1
    assert "numbers: '5005550006' is not a phone number in E.164 format" in capsys.readouterr().err


def test_listen_refuses_on_without_run(home, capsys):
    assert main(["listen", "--sandbox", *NOWHERE, "--on", "sms"]) == 1
    err = capsys.readouterr().err
    assert "--on sms" in err and "give it with --run FILE, or leave out --on" in err


def test_listen_refuses_a_public_url_with_a_password_and_never_shows_it(home, capsys):
    assert main(["listen", "--sandbox", *NOWHERE, "--public-url", "https://user:s3cret@hooks.example.com"]) == 1
    err = capsys.readouterr().err
    assert "has a user name or password in it" in err and "s3cret" not in err


def test_listen_on_every_address_prints_urls_that_reach_it_and_what_twilio_needs(home, listen):
    listener = listen("--sandbox", "--host", "0.0.0.0", "--number", NUMBER)
    line = listener.err_until("/twilio/sms")
    assert "0.0.0.0" not in line and "http://127.0.0.1:" in line
    assert "--public-url" in listener.err_until("listening on every address of this machine")
    listener.err_until("press Ctrl-C to stop")
    assert main(["sandbox", "receive", "--from", CALLER, "--to", NUMBER, "--body", "hi"]) == 0
    assert json.loads(listener.out.get(timeout=10))["event"]["body"] == "hi"
    assert listener.stop() == 0


def test_listen_answers_each_inbound_call_turn_by_turn_and_sandbox_call_talks_to_it(home, listen, capsys):
    from tests import ROOT

    listener = listen("--sandbox", "--number", NUMBER, "--run", str(ROOT / "examples" / "answer_calls.auto"),
                      "--say", "Hello, this is the book.")
    listener.err_until("calls are answered by the conversation on line 4")
    assert "/twilio/relay" in listener.err_until("/twilio/relay")
    listener.err_until("press Ctrl-C to stop")

    assert main(["sandbox", "call", "--from", CALLER, "--to", NUMBER, "--say", "Where is my order?", "--say", "#0",
                 "--say", "bye", "--say", "never heard"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:7] == ["book  : Hello, this is the book.", "caller: Where is my order?", "book  : You said: Where is my order? Say bye to end the call.",
                       "caller: 0", "book  : An operator will call you back.", "caller: bye", "book  : Goodbye!"]
    summary = json.loads(out[7])
    assert (summary["connected"], summary["hung_up_by"]) == ("relay", "book")
    assert json.loads(listener.out.get(timeout=10))["type"] == "twilio inbound call"
    relayed = json.loads(listener.out.get(timeout=10))
    assert (relayed["trigger"], relayed["call_sid"], relayed["turns"]) == ("relay", summary["sid"], 3)

    assert main(["sandbox", "call", "--from", "+1 555", "--to", NUMBER]) == 1
    assert "--from:" in capsys.readouterr().err
    assert listener.stop() == 0


def test_an_answer_automation_runs_in_the_listener_not_on_temporal(home, capsys):
    from tests import ROOT
    from tests.processes import book_command

    example = str(ROOT / "examples" / "answer_calls.auto")
    refused = book_command("listen", "--sandbox", "--run", example, "--temporal", "127.0.0.1:1", home=home)
    assert refused.returncode == 1 and "it runs here, not on Temporal's workers" in refused.stderr
    assert main(["listen", "--sandbox", "--run", example, "--on", "sms"]) == 1
    assert "leave out --on" in capsys.readouterr().err

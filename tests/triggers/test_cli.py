"""The commands: `watch` in-process, `listen` in its own process with `sandbox receive` posting to it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from book.sandbox import MessageFilter, open_sandbox
from book.sandbox.paging import PageRequest
from tests.triggers.conftest import CALLER, NUMBER, START
from book.cli import main

ROOT = Path(__file__).resolve().parents[2]


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


class Process:
    """A command in its own process, its output read line by line without blocking the test."""

    def __init__(self, *args: str, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
        env.update({"TWILIO_BOOK_HOME": str(home), "TWILIO_BOOK_KEYRING": "0", "PYTHONUNBUFFERED": "1"})
        self.process = subprocess.Popen([sys.executable, "-m", "book.cli", *args], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        for stream, into in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, q=into: [q.put(line) for line in s], daemon=True).start()

    def err_until(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.stderr.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr; got:\n{''.join(self.stderr)}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


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
    assert [(m.to, m.body) for m in messages(home, from_=NUMBER)] == [(CALLER, "Thanks!")]

    assert main(["sandbox", "receive", "--call", "--from", CALLER, "--to", NUMBER]) == 0
    call = json.loads(capsys.readouterr().out)
    assert "<Say>Hello caller</Say>" in call["answer"]
    assert json.loads(listener.out.get(timeout=10))["type"] == "twilio inbound call"

    assert listener.stop() == 0
    listener.err_until("stopped listening")


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

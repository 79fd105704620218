"""The CLI end to end: separate processes, the sandbox under TWILIO_BOOK_HOME, real HTTP."""

from __future__ import annotations

import json

import pytest

from tests import ROOT
from tests.processes import book_command as book

EXAMPLES = sorted((ROOT / "examples").glob("*.auto"))
# An automation that answers calls runs in the listener (tests/procedures/webhooks/test_commands.py), not in `run`.
ANSWERING = [path for path in EXAMPLES if path.read_text().lstrip("#").find("\nanswer each ") >= 0]
EXAMPLES = [path for path in EXAMPLES if path not in ANSWERING]


def test_one_run_sends_and_the_next_reads_it_back(tmp_path):
    sent = book("run", "--output", "json", str(ROOT / "examples" / "send.auto"), home=tmp_path)
    assert sent.returncode == 0, sent.stderr
    sid = json.loads(sent.stdout)
    assert sid.startswith("SM")
    assert "using the local sandbox" in sent.stderr and sent.stderr.count("\n") == 1

    read = book("run", "-o", "json", str(ROOT / "examples" / "read_by_numbers.auto"), home=tmp_path)
    assert read.returncode == 0, read.stderr
    messages = json.loads(read.stdout)
    assert [m["sid"] for m in messages] == [sid]
    assert set(messages[0]) >= {"sid", "body", "sender_number", "recipient_number", "date_sent", "price_unit"}

    jsonl = book("run", "-o", "jsonl", "-", home=tmp_path, stdin="read some SMS messages\n")
    assert [json.loads(line)["sid"] for line in jsonl.stdout.splitlines()] == [sid]

    assert book("sandbox", "reset", home=tmp_path).returncode == 0
    empty = book("run", "-o", "json", "-", home=tmp_path, stdin="read some SMS messages\n")
    assert json.loads(empty.stdout) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks_and_runs(tmp_path, example):
    assert book("check", str(example), home=tmp_path).returncode == 0
    result = book("run", "--once", str(example), home=tmp_path)  # a watch checks once instead of running on
    assert result.returncode == 0, result.stderr


def test_a_language_error_exits_2_with_line_and_column_and_no_traceback(tmp_path):
    result = book("run", "-", home=tmp_path, stdin='send an SMS message where\n  the sender number is "+15005550006"\n')
    assert result.returncode == 2
    assert "<stdin>:1:1: 'send an SMS message' needs the recipient number" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_twilio_error_exits_1_with_its_code_and_link(tmp_path):
    text = 'send an SMS message where\n  the sender number is "+15005550006"\n' \
           '  the recipient number is "+15005550004"\n  the message body is "Hi"\n'
    result = book("run", "-", home=tmp_path, stdin=text)
    assert result.returncode == 1
    assert "line 1: send an SMS message where" in result.stderr
    assert "21610" in result.stderr and "https://www.twilio.com/docs/errors/21610" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_token_from_the_environment_fails_without_printing_it(tmp_path):
    from sandbox import SandboxServer

    with SandboxServer(db_path=tmp_path / "other.sqlite3") as server:
        token = "0123456789abcdef0123456789abcdef"
        env = {"TWILIO_ACCOUNT_SID": server.account_sid, "TWILIO_AUTH_TOKEN": token,
               "TWILIO_BOOK_API_URL": server.url}
        result = book("run", "-", home=tmp_path, stdin="read some SMS messages\n", env=env)
        assert result.returncode == 1
        assert "Twilio error 20003" in result.stderr and "internal error" not in result.stderr
        assert "https://www.twilio.com/docs/errors/20003" in result.stderr
        assert token not in result.stderr + result.stdout
        assert "using the local sandbox" not in result.stderr

        env["TWILIO_AUTH_TOKEN"] = server.auth_token
        ok = book("run", "-o", "json", "-", home=tmp_path, stdin="read some SMS messages\n", env=env)
        assert ok.returncode == 0 and json.loads(ok.stdout) == []
        assert server.auth_token not in ok.stderr + ok.stdout


def test_procedures_lists_both_phrases_with_inputs(tmp_path):
    result = book("procedures", home=tmp_path)
    assert result.returncode == 0
    assert "to read some (*SMS* messages)    [FILTER-CAPABLE, page-capable]" in result.stdout
    assert "input  the sender number (text, required)" in result.stdout

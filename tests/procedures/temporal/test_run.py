"""`twilio-book run --temporal` on worker processes: the result printed, --detach, errors as the book says them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import RECIPIENT, SENDER
from tests.processes import book_command

SEND = f'''send an SMS message where
  the sender number is "{SENDER}"
  the recipient number is "{RECIPIENT}"
  the message body is "Hello from a worker"
read some SMS messages whose recipient number is "{RECIPIENT}"
'''


def automation(tmp_path: Path, text: str, name: str = "send.auto") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(temporal: Any, task_queue: str, home: Path, *args: str) -> Any:
    return book_command("run", *args, "--temporal", temporal.target, "--task-queue", task_queue, home=home)


def test_run_on_temporal_prints_the_last_lines_result(temporal, sandbox, shared_queue, home, tmp_path, client):
    task_queue = shared_queue
    result = run(temporal, task_queue, home, automation(tmp_path, SEND), "--output", "json")
    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)
    assert [m["body"] for m in messages] == ["Hello from a worker"]
    assert "started the workflow automation-" in result.stderr
    held = client.messages.list()
    assert [(m.body, m.to, m.from_) for m in held] == [("Hello from a worker", RECIPIENT, SENDER)]
    assert messages[0]["sid"] == held[0].sid


def test_detach_prints_the_workflow_id_and_the_workflow_runs_on(temporal, sandbox, shared_queue, home,
                                                                  tmp_path, on_temporal, client):
    task_queue = shared_queue
    result = run(temporal, task_queue, home, automation(tmp_path, SEND), "--detach", "--workflow-id", "detached-1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "detached-1"

    async def outcome(temporal_client: Any) -> Any:
        from book.temporal.worker import result_of
        from procedures import BOOK

        return await result_of(temporal_client.get_workflow_handle("detached-1"), BOOK)

    value = on_temporal(outcome)
    assert [m.body for m in value] == ["Hello from a worker"]
    assert len(client.messages.list()) == 1


def test_a_mistake_in_the_english_is_reported_before_any_workflow_starts(temporal, task_queue, home, tmp_path):
    result = run(temporal, task_queue, home, automation(tmp_path, "send an SMS mesage where\n  the body is 1\n"))
    assert result.returncode == 2
    assert "send.auto:1:" in result.stderr
    assert "started the workflow" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_send_fails_the_run_with_the_services_error_and_its_line(temporal, sandbox, shared_queue,
                                                                            home, tmp_path, client):
    task_queue = shared_queue
    text = f'''send an SMS message where
  the sender number is "+15005550001"
  the recipient number is "{RECIPIENT}"
  the message body is "never sent"
'''
    result = run(temporal, task_queue, home, automation(tmp_path, text))
    assert result.returncode == 1
    assert "line 1" in result.stderr
    assert "Twilio refused to send the SMS message" in result.stderr
    assert "Traceback" not in result.stderr
    assert client.messages.list() == []


def test_no_temporal_server_is_a_message_naming_the_address(tmp_path, home):
    result = book_command("run", automation(tmp_path, SEND), "--temporal", "127.0.0.1:1", home=home)
    assert result.returncode == 1
    assert "can't reach Temporal at 127.0.0.1:1" in result.stderr
    assert "temporal server start-dev" in result.stderr


def test_help_and_the_worker_commands_help_import_no_temporalio():
    import subprocess
    import sys

    from tests import ROOT

    code = ("import sys\nfrom procedures.cli import main\nfor argv in (['--help'], ['worker', '--help'], ['run', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "assert 'temporalio' not in sys.modules, 'temporalio'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--temporal HOST:PORT" in result.stdout and "--detach" in result.stdout and "--task-queue Q" in result.stdout


def test_a_call_that_talks_runs_on_a_worker_its_block_turn_by_turn(temporal, sandbox, clock, shared_queue, home,
                                                                   tmp_path, client):
    from sandbox.call_progress import CallScripts
    from tests.procedures.test_calls_live import run_while_the_clock_moves

    CallScripts(sandbox.store).set(RECIPIENT, ["Hi", "bye"])
    text = (f'the greeting is "Hello"\nplace a phone call to "{RECIPIENT}" from "{SENDER}" as follows\n'
            '  if the caller\'s words contains "bye" then\n    hang up\n'
            '  say "{the greeting}, you said {the caller\'s words}."\n')
    result = run_while_the_clock_moves(
        clock, lambda: run(temporal, shared_queue, home, automation(tmp_path, text, "talk.auto"), "--output", "json"),
        step=0.5, limit=90)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "completed"
    assert [(line["speaker"], line["text"]) for line in outcome["transcript"]] == [
        ("caller", "Hi"), ("book", "Hello, you said Hi."), ("caller", "bye")]
    assert [c.sid for c in client.calls.list(to=RECIPIENT)] == [outcome["sid"]]  # one activity, one call

"""The `twilio-book` command, run as a user runs it: help, check, and language errors from run.

Nothing here reaches Twilio or the sandbox: `check` only compiles, and `run` stops at a language error
before it opens a session.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT
from tests.processes import book_command


@pytest.fixture
def cli(tmp_path: Path):
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return book_command(*args, home=tmp_path / "home", stdin=stdin, cwd=tmp_path)

    return run


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream
        assert "lark" not in stream.lower()


def test_building_the_parser_does_not_import_the_twilio_sdk():
    code = ("import sys; from book.cli import build_parser; from procedures import APP; build_parser(APP); "
            "assert 'twilio' not in sys.modules, 'twilio'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: twilio-book")
    for command in ("run", "check", "procedures"):
        assert command in result.stdout


def test_no_command_prints_help_and_exits_2(cli):
    result = cli()
    assert result.returncode == 2
    assert "usage: twilio-book" in result.stdout


def test_check_a_good_file(cli, tmp_path):
    path = write(tmp_path, "good.auto", (
        "# every SMS message since the start date\n"
        'the start date is "2022-03-01T15:00:00Z"\n'
        "read some SMS messages whose date sent is after the start date\n"
        "process each message as follows\n"
        "  get the message's body\n"
    ))
    result = cli("check", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: ok (3 statements, calls: read some SMS messages)\n"


def test_check_a_bad_file_lists_every_problem_with_line_and_column(cli, tmp_path):
    path = write(tmp_path, "bad.auto", (
        "reed some SMS messages\n"
        'read some SMS messages whose colour is "red"\n'
        "get the nothing\n"
        'convert "x" to a colour\n'
    ))
    result = cli("check", path)
    assert result.returncode == 2
    assert result.stdout == ""
    for where in ("bad.auto:1:1: I don't know how to 'reed SMS messages'",
                  "bad.auto:2:30: a twilio sms message has no field 'colour'",
                  "bad.auto:3:9: 'the nothing' is not defined before this line",
                  "bad.auto:4:18: I can't convert to 'colour'"):
        assert where in result.stderr
    assert result.stderr.rstrip().endswith("bad.auto: 4 problems")
    assert "    reed some SMS messages\n    ^\n" in result.stderr
    no_traceback(result)


def test_check_several_files_reports_each(cli, tmp_path):
    good = write(tmp_path, "good.auto", 'the x is "a"\n')
    bad = write(tmp_path, "syntax.auto", "read some SMS messages whose\n")
    result = cli("check", good, bad)
    assert result.returncode == 2
    assert f"{good}: ok (1 statements, calls: none)" in result.stdout
    assert "syntax.auto:1:29: 'whose' needs a field and a comparison after it" in result.stderr
    assert "syntax.auto: 1 problem\n" in result.stderr


def test_check_reads_standard_input(cli):
    result = cli("check", "-", stdin="the x is\n")
    assert result.returncode == 2
    assert "<stdin>:1:9: a value is missing here" in result.stderr


def test_check_a_file_that_is_not_there(cli, tmp_path):
    result = cli("check", str(tmp_path / "missing.auto"))
    assert result.returncode == 1
    assert "can't read the automation" in result.stderr
    no_traceback(result)


@pytest.mark.parametrize(("output", "text", "message"), [
    ("table", "read some SMS messages whose\n", "1:29: 'whose' needs a field and a comparison after it"),
    ("json", "reed some SMS messages\n", "1:1: I don't know how to 'reed SMS messages'"),
    ("jsonl", 'send an SMS message where\n  the message body is "hi"\n', "needs the sender number"),
])
def test_run_with_a_language_error_exits_2_without_a_traceback(cli, tmp_path, output, text, message):
    path = write(tmp_path, "broken.auto", text)
    result = cli("run", "--output", output, path)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    no_traceback(result)
    assert not (tmp_path / "home" / "sandbox.sqlite3").exists()  # nothing started


def test_procedures_lists_phrases_inputs_and_outputs(cli):
    result = cli("procedures")
    assert result.returncode == 0, result.stderr
    assert "to read some (*SMS* messages)    [FILTER-CAPABLE" in result.stdout
    assert "    input  the sender number (" in result.stdout
    assert "    output " in result.stdout


def test_check_goes_on_after_a_file_it_cannot_read(cli, tmp_path):
    good = write(tmp_path, "good.auto", 'the x is "1"\n')
    result = cli("check", str(tmp_path / "missing.auto"), good)
    assert result.returncode == 1
    assert "can't read the automation" in result.stderr
    assert f"{good}: ok" in result.stdout

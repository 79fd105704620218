"""Bad input at scale: a megabyte line, 100k lines, NUL bytes, binary files, CRLF and tabs, odd unicode. Each is a
clear error (line, column, what to do) or a correct run, never a traceback or a hang: through `check` and `run`
(their own processes, each under a timeout) and MCP's run_automation (in process)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from book.errors import EnglishSyntaxError
from book.mcp.calls import Toolbox
from book.runtime import check, run
from book.source import MAX_LINES
from tests.notes import make_book, session_for
from tests.processes import book_command

MB = "x" * 1_000_000


@pytest.fixture
def notes():
    book, store = make_book()
    return book, Toolbox(book, session_for(book, store))


def problems(text: str, registry) -> list:
    with pytest.raises(EnglishSyntaxError) as caught:
        check(text, registry)
    assert "Traceback" not in str(caught.value)
    return caught.value.problems


def test_a_megabyte_value_runs_and_a_megabyte_mistake_is_shown_clipped(notes) -> None:
    book, box = notes
    ran = box.call("run_automation", {"text": f'the note is "{MB}"\nget the note\n'})
    assert not ran.is_error and ran.structured["result"] == MB
    [problem] = problems(MB + "\n", book.registry)
    assert problem.line == 1
    wrong = box.call("run_automation", {"text": f'the x is "a"\n{MB} is here\n'})
    assert wrong.is_error and "<automation>:2:" in wrong.text
    assert max(len(line) for line in wrong.text.splitlines()) < 300  # the line is cut around the column


def test_lines_up_to_the_limit_are_read_and_more_are_refused_at_once(notes) -> None:
    book, box = notes
    assert len(check("the n is 1\n" * 2000, book.registry).steps) == 2000
    assert problems("the n is 1\n" * (MAX_LINES + 1), book.registry)[0].message.startswith(f"the automation has {MAX_LINES + 1:,} lines")
    [problem] = problems("the n is 1\n" * 100_000, book.registry)
    assert problem.message == f"the automation has 100,000 lines; the most the book reads is {MAX_LINES:,}"
    out = box.call("run_automation", {"text": "send a SMS message\n" * 100_000})
    assert out.is_error and "100,000 lines" in out.text


def test_many_mistakes_list_twenty_and_say_how_many_more(notes) -> None:
    book, box = notes
    out = box.call("check_automation", {"text": "read some nots\n" * 500})
    assert out.is_error and len(out.structured["problems"]) == 500
    assert out.text.count("I don't know how to") == 20 and "... and 480 more problems" in out.text


@pytest.mark.parametrize(("text", "where", "message"), [
    ("read some notes\x00\n", (1, 16), "a control character (U+0000 NULL)"),
    ('the x is "a"\nthe y\x07 is "b"\n', (2, 6), "a control character (U+0007 BELL)"),
    ("read some\u200b notes\n", (1, 10), "an invisible character (U+200B ZERO WIDTH SPACE)"),
    ('the \u202ex is "a"\n', (1, 5), "an invisible character (U+202E RIGHT-TO-LEFT OVERRIDE)"),
    ("read\u00a0some notes\n", (1, 5), "an invisible character (U+00A0 NO-BREAK SPACE)"),
    ("the x is 1\n\ufeffread some notes\n", (2, 1), "an invisible character (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
])
def test_control_and_invisible_characters_are_named_with_line_and_column(notes, text, where, message) -> None:
    book, box = notes
    [problem] = problems(text, book.registry)
    assert (problem.line, problem.column) == where and problem.message.startswith(message)
    assert "?" in problem.source_line and problem.hint
    out = box.call("run_automation", {"text": text})
    assert out.is_error and out.structured["problems"][0]["line"] == where[0]


def test_odd_unicode_in_quoted_values_and_comments_is_kept(notes) -> None:
    book, box = notes
    value = "caf\u00e9 \U0001F469\u200d\U0001F4BB \u202eevil\u202c \u200b \u0301 \u4f60\u597d"
    out = box.call("run_automation", {"text": f'# a comment with \u200b and \u202e in it\nthe v is "{value}"\n'
                                              f'the w is \u201c{value}\u201d\nget the v\n'})
    assert not out.is_error, out.text
    assert out.structured["result"] == value


def test_crlf_lone_cr_tabs_and_a_byte_order_mark_read_as_plain_lines(notes) -> None:
    book, box = notes
    text = '\ufeffthe t is "a"\r\nwrite a Lark note where\r\n\tthe title is the t\r\n\tthe stars is 2\r\nget the t\r'
    assert len(check(text, book.registry).steps) == 3
    assert run(text.replace("\r\n", "\r"), book.registry, box.session).value == "a"
    out = box.call("run_automation", {"text": text})
    assert not out.is_error and out.structured["result"] == "a"


# -- through the command line ---------------------------------------------------------------------------

def files(folder: Path) -> dict[str, bytes]:
    rng = random.Random(15)
    made = {
        "png.auto": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(4000)),
        "random.auto": bytes(rng.randrange(256) for _ in range(4096)),
        "latin1.auto": 'the x is "caf\u00e9"\n'.encode("latin-1"),
        "nul.auto": b"the x is 1\n\x00\n",
        "lines.auto": b"send a SMS message\n" * 100_000,
        "mb.auto": b"the x is " + MB.encode() + b"\n",
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    return made


SAID = {
    "png.auto": "png.auto:1:1: this looks like a binary file, not an automation",
    "random.auto": "random.auto:1:",
    "latin1.auto": "latin1.auto:1:14: the byte 0xe9 is not UTF-8 text",
    "nul.auto": "nul.auto:2:1: a control character (U+0000 NULL)",
    "lines.auto": "lines.auto: the automation has 100,000 lines",
    "mb.auto": "mb.auto:1:10: text must be in double quotes",
}


def test_check_says_what_is_wrong_with_each_file(tmp_path: Path) -> None:
    files(tmp_path)
    done = book_command("check", *(str(tmp_path / name) for name in SAID), home=tmp_path / "home", timeout=60)
    assert done.returncode == 2, done.stderr
    for name, said in SAID.items():
        assert said in done.stderr, (name, done.stderr[-3000:])
        assert f"{name}: 1 problem" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert len(done.stderr) < 30_000 and done.stdout == ""


@pytest.mark.parametrize("name", ["png.auto", "lines.auto"])
def test_run_refuses_a_bad_file_before_anything_runs(tmp_path: Path, name: str) -> None:
    files(tmp_path)
    done = book_command("run", "--sandbox", str(tmp_path / name), home=tmp_path / "home", timeout=60)
    assert done.returncode == 2 and SAID[name] in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "using the local sandbox" not in done.stderr and done.stdout == ""


def test_standard_input_is_read_as_bytes_too(tmp_path: Path) -> None:
    done = subprocess_stdin(tmp_path, b"\xff\xfe" + "read some notes".encode("utf-16-le"))
    said = done.stderr.decode()
    assert done.returncode == 2 and "<stdin>:1:1: this file is saved as UTF-16 text, not UTF-8" in said, said


def subprocess_stdin(tmp_path: Path, data: bytes):
    import subprocess
    import sys

    from tests import ROOT
    from tests.processes import environment

    return subprocess.run([sys.executable, "-m", "procedures", "check", "-"], input=data, capture_output=True,
                          env=environment(tmp_path), cwd=ROOT, timeout=60)


def test_no_problem_file_is_left_behind(tmp_path: Path) -> None:
    files(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(files(tmp_path))

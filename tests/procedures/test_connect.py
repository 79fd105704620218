"""Connecting for real: the wizard in a pseudo-terminal and the commands in subprocesses, against the sandbox."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from book.connections import AuthenticationError
from procedures._connection import ACCOUNT_SID_AND_AUTH_TOKEN, verify_connection
from tests import ROOT

WRONG = "0123456789abcdef" * 2


def child_env(home: Path, sandbox: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(TWILIO_BOOK_HOME=str(home), TWILIO_BOOK_API_URL=sandbox.url, TWILIO_BOOK_KEYRING="0")
    return env


def book(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procedures", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=30,
    )


def test_verify_connection_against_the_sandbox(sandbox: Any) -> None:
    def conn(token: str):
        values = {"account_sid": sandbox.account_sid, "auth_token": token}
        return ACCOUNT_SID_AND_AUTH_TOKEN.connection("sb", values, api_url=sandbox.url)

    assert verify_connection(conn(sandbox.auth_token))
    with pytest.raises(AuthenticationError) as e:
        verify_connection(conn(WRONG))
    assert e.value.code == 20003
    assert WRONG not in str(e.value) and sandbox.auth_token not in str(e.value)


def test_the_wizard_in_a_real_terminal(sandbox: Any, home: Path) -> None:
    sid, token = sandbox.account_sid, sandbox.auth_token
    transcript = io.StringIO()
    child = pexpect.spawn(
        sys.executable, ["-m", "procedures", "connect", "--name", "work"],
        env=child_env(home, sandbox), cwd=str(ROOT), encoding="utf-8", timeout=20, dimensions=(40, 240),
    )
    child.logfile_read = transcript  # everything the terminal showed, including what it echoed
    try:
        child.expect_exact("Choose 1-2 [1]: ")
        child.sendline("1")
        child.expect_exact("The Account SID from your Twilio account.")
        child.expect_exact("Account SID: ")
        child.sendline(sid[:-1] + "g")  # a typo: not hexadecimal
        child.expect_exact("an Account SID is AC followed by 32 hexadecimal characters. Try again.")
        child.expect_exact("Account SID: ")
        child.sendline(sid)
        child.expect_exact("Auth Token (typing is hidden): ")
        child.sendline(WRONG)
        child.expect_exact("authentication failed: Twilio error 20003")
        child.expect_exact(f"Account SID [{sid}]: ")
        child.sendline("")
        child.expect_exact("Auth Token (typing is hidden): ")
        child.sendline(token)
        child.expect_exact("Connected work (")
        child.expect_exact("(mode 600)")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, transcript.getvalue()
    shown = transcript.getvalue()
    assert sid in shown  # text fields echo...
    assert token not in shown and WRONG not in shown  # ...secrets, read with getpass, do not
    stored = home / "connections.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert token in stored.read_text()  # no keyring here: the secret lives in the private file


def test_the_commands_without_a_terminal(sandbox: Any, home: Path) -> None:
    env = child_env(home, sandbox)
    sid, token = sandbox.account_sid, sandbox.auth_token

    refused = book(["connect", "--name", "ci", "--account-sid", sid, "--secret-stdin"], env, stdin=WRONG + "\n")
    assert refused.returncode == 1
    assert "authentication failed: Twilio error 20003" in refused.stderr
    assert WRONG not in refused.stderr + refused.stdout
    assert not (home / "connections.json").exists()

    added = book(["connect", "--name", "ci", "--account-sid", sid, "--secret-stdin"], env, stdin=token + "\n")
    assert added.returncode == 0, added.stderr
    assert "Connected ci (" in added.stderr and "(mode 600)" in added.stderr

    listed = book(["connections", "list"], env)
    assert listed.returncode == 0 and "ci" in listed.stdout and sid in listed.stdout

    tested = book(["connections", "test", "ci"], env)
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.startswith("ok: ci reaches ")

    removed = book(["connections", "remove", "ci"], env)
    assert removed.returncode == 0 and "removed ci" in removed.stdout
    gone = book(["connections", "test", "ci"], env)
    assert gone.returncode == 1 and "no connection named 'ci'" in gone.stderr

    for result in (refused, added, listed, tested, removed, gone):
        assert token not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr

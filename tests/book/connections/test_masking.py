"""A credential's value is never echoed whole: every error and log line shows at most its first 4 characters,
also under --debug (the Auth Token pasted into TWILIO_ACCOUNT_SID, an API key secret where its SID goes)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from book.connections import ConnectionStore, connection_from_env
from book.errors import ConnectionError_
from book.wizard import connect_from
from procedures import APP
from procedures._connection import TWILIO_METHODS, verify_connection
from tests.processes import book_command

from .support import KEY_SECRET, SID, TOKEN, token_connection


def shows_at_most_four(text: str, value: str) -> bool:
    """No 5 characters of `value` in a row appear in `text`."""
    return not any(value[i:i + 5] in text for i in range(len(value) - 4))


@pytest.mark.parametrize("method", TWILIO_METHODS, ids=lambda m: m.key)
def test_a_value_in_the_wrong_field_is_shown_by_its_first_four_characters(method) -> None:
    for field in method.fields:
        if field.pattern is None or re.fullmatch(field.pattern, TOKEN + "!"):
            continue
        wrong = KEY_SECRET + "!" if field.sensitive else TOKEN + "!"  # of the shape of another field
        with pytest.raises(ConnectionError_) as caught:
            field.check(wrong)
        assert shows_at_most_four(str(caught.value), wrong), str(caught.value)
        assert f"{field.label} is not valid" in str(caught.value)


def test_the_auth_token_in_the_account_sid_variable_is_not_echoed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"TWILIO_ACCOUNT_SID": TOKEN, "TWILIO_AUTH_TOKEN": TOKEN}
    with pytest.raises(ConnectionError_) as caught:
        connection_from_env(env, TWILIO_METHODS)
    assert str(caught.value) == ("TWILIO_ACCOUNT_SID: Account SID is not valid ('fedc…' (32 characters)): an Account "
                                 "SID is AC followed by 32 hexadecimal characters")
    assert shows_at_most_four(caplog.text, TOKEN)


@pytest.mark.parametrize("argv", [("--debug", "run", "-"), ("run", "-")])
def test_nor_on_the_command_line_also_under_debug(tmp_path: Path, argv: tuple[str, ...]) -> None:
    done = book_command(*argv, home=tmp_path, stdin="read some SMS messages\n",
                        env={"TWILIO_ACCOUNT_SID": TOKEN, "TWILIO_AUTH_TOKEN": TOKEN})
    assert done.returncode == 1 and "Account SID is not valid" in done.stderr
    assert shows_at_most_four(done.stdout + done.stderr, TOKEN), done.stderr
    assert "Traceback" not in done.stderr


def test_nor_by_connect_given_it_on_the_command_line(tmp_path: Path) -> None:
    done = book_command("--debug", "connect", "--name", "w", "--account-sid", TOKEN, "--no-verify", home=tmp_path,
                        env={"TWILIO_AUTH_TOKEN": TOKEN})
    assert done.returncode == 1 and "Account SID is not valid ('fedc…' (32 characters))" in done.stderr
    assert shows_at_most_four(done.stdout + done.stderr, TOKEN)


def test_the_wizard_names_a_given_value_by_its_first_four_characters(tmp_path: Path) -> None:
    import io

    out = io.StringIO()
    connect_from(TWILIO_METHODS, ConnectionStore(tmp_path, keyring=None, app=APP), name="w",
                 text={"account_sid": SID}, env={"TWILIO_AUTH_TOKEN": TOKEN}, verify=None, out=out, app=APP)
    assert shows_at_most_four(out.getvalue(), SID) and shows_at_most_four(out.getvalue(), TOKEN)


def test_a_failure_to_verify_names_the_connection_without_its_values() -> None:
    class Refusing:
        """An SDK HttpClient whose every request fails with the credentials in its message, as a library's may."""

        def request(self, *args, **kwargs):
            raise OSError(f"no route for {SID}:{TOKEN} at /2010-04-01/Accounts/{SID}.json")

    with pytest.raises(ConnectionError_) as caught:
        verify_connection(token_connection(), http_client=Refusing())
    text = str(caught.value)
    assert "could not reach https://api.twilio.com to verify connection 'work'" in text
    assert shows_at_most_four(text, SID) and shows_at_most_four(text, TOKEN), text

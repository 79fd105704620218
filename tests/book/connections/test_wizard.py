"""The connect wizard and the connections commands, with scripted answers and a fake verifier."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterable

import pytest

from book.app import App
from book.authoring import Book
from book.cli import build_parser
from book.connections import AuthenticationError, Connection, ConnectionField, ConnectionMethod, ConnectionStore
from book.errors import ConnectionError_
from book.wizard import connect_from, run_wizard
from procedures import APP
from procedures._connection import ACCOUNT_SID_AND_AUTH_TOKEN, TWILIO_METHODS
from procedures._twilio import credentials
from procedures.cli import main

from .support import KEY_SECRET, KEY_SID, SID, TOKEN

WRONG = "0" * 32


class Script:
    """Scripted answers for `input` and `getpass`, recording every prompt and which reader was used."""

    def __init__(self, answers: Iterable[str]) -> None:
        self.answers = list(answers)
        self.prompts: list[tuple[str, str]] = []

    def _next(self, kind: str, prompt: str) -> str:
        self.prompts.append((kind, prompt))
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def input(self, prompt: str) -> str:
        return self._next("input", prompt)

    def getpass(self, prompt: str) -> str:
        return self._next("getpass", prompt)


def twilio_accepting(token: str = TOKEN):
    calls: list[Connection] = []

    def verify(conn: Connection) -> str:
        calls.append(conn)
        if credentials(conn)[1] != token:
            raise AuthenticationError("authentication failed: Twilio error 20003 (HTTP 401)", code=20003)
        return "Test Account"

    verify.calls = calls  # type: ignore[attr-defined]
    return verify


def wizard(store: ConnectionStore, answers: Iterable[str], **kw):
    script, out = Script(answers), io.StringIO()
    kw.setdefault("verify", twilio_accepting())
    conn = run_wizard(TWILIO_METHODS, store, app=APP, input=script.input, getpass=script.getpass, out=out, **kw)
    return conn, script, out.getvalue()


def test_the_whole_conversation(store: ConnectionStore) -> None:
    conn, script, out = wizard(store, ["", "1", "AC123", SID, WRONG, "", TOKEN])
    assert (conn.name, conn.method, conn.value("auth_token")) == ("default", "auth_token", TOKEN)
    assert script.prompts == [
        ("input", "Connection name [default]: "),
        ("input", "Choose 1-2 [1]: "),
        ("input", "Account SID: "),
        ("input", "Account SID: "),
        ("getpass", "Auth Token (typing is hidden): "),
        ("input", f"Account SID [{SID}]: "),  # Enter keeps it
        ("getpass", "Auth Token (typing is hidden): "),
    ]
    assert "1. Connect using Account SID and Auth Token\n     Connect to the Twilio API using account" in out
    assert "2. Connect using an API Key" in out
    assert "The Account SID from your Twilio account.\n" in out
    assert "Account SID is not valid ('AC12…' (5 characters)): an Account SID is AC followed by 32 hexadecimal" in out
    assert "authentication failed: Twilio error 20003 (HTTP 401): these credentials were not accepted." in out
    assert f"Connected default (Test Account); saved to {store.path} (mode 600)" in out
    assert TOKEN not in out and WRONG not in out
    assert store.get("default").value("auth_token") == TOKEN


def test_an_api_key_through_the_menu(store: ConnectionStore) -> None:
    conn, script, _ = wizard(store, ["2", SID, KEY_SID, KEY_SECRET], name="key", verify=twilio_accepting(KEY_SECRET))
    assert (conn.method, *credentials(conn)[:2]) == ("api_key", KEY_SID, KEY_SECRET)
    assert [kind for kind, _ in script.prompts] == ["input", "input", "input", "getpass"]


def test_one_method_or_a_given_one_skips_the_menu(store: ConnectionStore) -> None:
    script, out = Script([SID, TOKEN]), io.StringIO()
    run_wizard((ACCOUNT_SID_AND_AUTH_TOKEN,), store, app=APP, name="a", input=script.input, getpass=script.getpass,
               out=out, verify=None)
    assert "How do you want to connect?" not in out.getvalue()
    assert "Saved a without checking it with Twilio (--no-verify)" in out.getvalue()
    _, script, _ = wizard(store, [SID, TOKEN], name="b", method_key="auth_token")
    assert [p for _, p in script.prompts] == ["Account SID: ", "Auth Token (typing is hidden): "]


def test_given_values_are_not_asked(store: ConnectionStore) -> None:
    _, script, out = wizard(store, [TOKEN], name="w", method_key="auth_token", given={"account_sid": SID})
    assert [p for _, p in script.prompts] == ["Auth Token (typing is hidden): "]
    assert f"Account SID: '{SID[:4]}…' (34 characters) (given on the command line)" in out


def test_a_malformed_given_value_is_asked_for(store: ConnectionStore) -> None:
    _, script, out = wizard(store, [SID, TOKEN], name="w", method_key="auth_token", given={"account_sid": "AC1"})
    assert [p for _, p in script.prompts] == ["Account SID: ", "Auth Token (typing is hidden): "]
    assert "Account SID is not valid ('AC1')" in out


def test_three_refusals_save_nothing(store: ConnectionStore) -> None:
    with pytest.raises(ConnectionError_, match="authentication failed 3 times; nothing was saved"):
        wizard(store, ["w", "1", SID, WRONG, "", WRONG, "", WRONG])
    assert not store.path.exists()


def test_the_end_of_input_cancels(store: ConnectionStore) -> None:
    with pytest.raises(ConnectionError_, match="cancelled"):
        wizard(store, ["w", "1", SID])
    assert not store.path.exists()


def test_a_bad_name_is_asked_again(store: ConnectionStore) -> None:
    conn, _, out = wizard(store, ["my work", "work", "1", SID, TOKEN])
    assert conn.name == "work"
    assert "cannot name a connection" in out


# -- without asking ---------------------------------------------------------------------------------------


def test_connect_from_flags_and_stdin(store: ConnectionStore) -> None:
    lines = iter([TOKEN + "\n"])
    out = io.StringIO()
    conn = connect_from(TWILIO_METHODS, store, app=APP, name="ci", text={"account_sid": SID}, env={},
                        secret_lines=lambda: next(lines, ""), verify=twilio_accepting(), out=out)
    assert (conn.method, conn.value("auth_token")) == ("auth_token", TOKEN)
    assert "Connected ci (Test Account)" in out.getvalue() and TOKEN not in out.getvalue()


def test_connect_from_the_environment_picks_the_complete_method(store: ConnectionStore) -> None:
    env = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY": KEY_SID, "TWILIO_API_SECRET": KEY_SECRET}
    conn = connect_from(TWILIO_METHODS, store, app=APP, name="ci", text={}, env=env, verify=None, out=io.StringIO())
    assert conn.method == "api_key"


@pytest.mark.parametrize(
    ("text", "env", "stdin", "message"),
    [
        ({"account_sid": SID}, {}, None, "Auth Token is missing .*: set TWILIO_AUTH_TOKEN or pass --secret-stdin"),
        ({}, {"TWILIO_AUTH_TOKEN": TOKEN}, None, "Account SID is missing .*: pass --account-sid or set TWILIO_ACC"),
        ({"account_sid": SID}, {}, "", "Auth Token is missing .*standard input"),
        ({"account_sid": "AC1"}, {"TWILIO_AUTH_TOKEN": TOKEN}, None, "Account SID is not valid"),
    ],
)
def test_connect_from_says_what_is_missing(text, env, stdin, message, store: ConnectionStore) -> None:
    lines = None if stdin is None else (lambda: stdin)
    with pytest.raises(ConnectionError_, match=message):
        connect_from(TWILIO_METHODS, store, app=APP, name="ci", text=text, env=env, secret_lines=lines, verify=None,
                     out=io.StringIO())
    assert not store.path.exists()


# -- the commands ----------------------------------------------------------------------------------------


def test_a_secret_flag_is_refused_without_echoing_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["connect", "--name", "x", "--account-sid", SID, f"--auth-token={TOKEN}"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--auth-token is refused" in err and "TWILIO_AUTH_TOKEN" in err and TOKEN not in err


def test_connections_commands_without_twilio(home, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert main(["connect", "--name", "ci", "--account-sid", SID, "--secret-stdin", "--no-verify"]) == 0
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", KEY_SECRET)  # ignored: --secret-stdin was given
    monkeypatch.setattr("sys.stdin", io.StringIO(WRONG + "\n"))
    assert main(["connect", "--name", "two", "--account-sid", SID, "--secret-stdin", "--no-verify"]) == 0
    assert ConnectionStore(home, app=APP, keyring=None).get("two").value("auth_token") == WRONG
    capsys.readouterr()

    assert main(["connections", "list"]) == 0
    listing = capsys.readouterr().out
    assert "*  ci" in listing and "   two" in listing and SID in listing
    assert TOKEN not in listing and WRONG not in listing

    assert main(["connections", "default", "two"]) == 0
    assert ConnectionStore(home, app=APP, keyring=None).default_name == "two"
    assert main(["connections", "remove", "ci"]) == 0
    assert main(["connections", "remove", "ci"]) == 1
    err = capsys.readouterr().err
    assert "twilio-book: error: no connection named 'ci' (saved connections: two)" in err
    assert "Traceback" not in err
    assert oct(os.stat(home / "connections.json").st_mode & 0o777) == "0o600"


def test_connect_without_a_terminal_never_asks(home, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["connect", "--name", "ci", "--account-sid", SID]) == 1
    assert "Auth Token is missing" in capsys.readouterr().err


def test_building_the_cli_loads_no_book_and_connect_help_shows_its_flags() -> None:
    code = ("import sys; from book.cli import build_parser; from procedures import APP; build_parser(APP); "
            "print(sorted({m for m in sys.modules if m.split('.')[0] in ('lark', 'twilio', 'mcp', 'concepts')} "
            "| ({'procedures._registered'} & set(sys.modules))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    shown = subprocess.run([sys.executable, "-m", "procedures", "connect", "--help"], capture_output=True,
                           text=True, check=True).stdout
    assert "[--method {auth_token,api_key}]" in shown and "--api-key-sid TWILIO_API_KEY" in shown


def test_the_commands_serve_any_book(home, monkeypatch, capsys) -> None:
    method = ConnectionMethod("token", "Connect using a token", "Connect with an Acme token.", (
        ConnectionField("account", "Account", "Your Acme account.", "text", env="ACME_ACCOUNT"),
        ConnectionField("token", "Token", "Your Acme token.", "sensitive", env="ACME_TOKEN"),
    ))
    checked: list[Connection] = []
    app = App(program="acme", service="Acme", load_book=lambda: acme)
    acme = Book("Acme", app=app, connection_methods=(method,),
                verify_connection=lambda c: checked.append(c) or "Acme HQ")
    parser = build_parser(app)
    with pytest.raises(SystemExit):
        parser.parse_args(["connect", "--help"])
    assert "--account ACME_ACCOUNT" in capsys.readouterr().out

    monkeypatch.setenv("ACME_TOKEN", "t0k3n")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    args = parser.parse_args(["connect", "--name", "hq", "--account", "a1"])
    assert args.func(args) == 0
    assert "Connected hq (Acme HQ)" in capsys.readouterr().err
    monkeypatch.delenv("ACME_TOKEN")  # else the test would check the environment's (incomplete) connection
    args = parser.parse_args(["connections", "test"])
    assert args.func(args) == 0
    assert capsys.readouterr().out.startswith("ok: hq reaches ")
    assert [(c.method, c.values["account"]) for c in checked] == [("token", "a1"), ("token", "a1")]
